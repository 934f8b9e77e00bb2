/*
 * A stand-in for Windows' bcryptprimitives.dll, for the wine smoke test
 * only (scripts/wine_smoke.py); it is never shipped.
 *
 * Rust's standard library (since 1.78) takes its random HashMap keys from
 * ProcessPrng in bcryptprimitives.dll, which every Windows since 8 has.
 * Wine added the DLL in 8.13; Debian bookworm's wine is 8.0, where a Rust
 * program stops before main with "Library bcryptprimitives.dll ... not
 * found". This DLL provides that one function from the system's random
 * source (RtlGenRandom, advapi32), as Windows does.
 *
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll \
 *       bcryptprimitives.c -ladvapi32
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
