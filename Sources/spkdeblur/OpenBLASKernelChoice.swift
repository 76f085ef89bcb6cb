import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Lets OpenBLAS pick the kernels for the CPU it runs on.
///
/// OpenBLAS reads `OPENBLAS_CORETYPE` once, when the library loads. Environments often carry
/// one set for other programs (this project's development machines had `Haswell`, the AVX2
/// kernels, on an AVX-512 CPU whose auto-detected `Cooperlake` kernels run SpkDeblurNet about
/// 28% faster: docs/performance.md). So `spkdeblur` runs with `SPKDEBLUR_BLAS_CORETYPE` when
/// that is set, and otherwise with OpenBLAS's own detection, re-executing itself once when
/// the inherited environment says otherwise.
enum OpenBLASKernelChoice {
    static func applyByReexec() {
        guard getenv("SPKDEBLUR_REEXECUTED") == nil else { return }
        let wanted = getenv("SPKDEBLUR_BLAS_CORETYPE").map { String(cString: $0) }
        let current = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        guard wanted != current else { return }
        if let wanted { setenv("OPENBLAS_CORETYPE", wanted, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        setenv("SPKDEBLUR_REEXECUTED", "1", 1)
        var args = CommandLine.arguments.map { strdup($0) }
        args.append(nil)
        execv("/proc/self/exe", &args)
        // execv returns only on failure: carry on with the kernels already loaded.
    }
}
