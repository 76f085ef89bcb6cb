import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's OpenBLAS (0.3.21) gives AMD Zen 4 its AVX2 "Haswell" kernels although the CPU has
/// AVX-512; its "SkylakeX" kernels are ~7% faster there (measured, docs/performance.md).
/// OpenBLAS reads `OPENBLAS_CORETYPE` only when the library loads, so the process re-executes
/// itself once with the variable set. A user's own setting is never overridden.
enum OpenBLASKernelChoice {
    static func applyByReexec() {
        guard getenv("OPENBLAS_CORETYPE") == nil, getenv("SPKDEBLUR_NO_REEXEC") == nil else { return }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            info.contains("AuthenticAMD")
        else { return }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        guard ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        var args = CommandLine.arguments.map { strdup($0) }
        args.append(nil)
        execv("/proc/self/exe", &args)
        // execv returns only on failure: carry on with the default kernels.
    }
}
