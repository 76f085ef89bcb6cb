import Foundation
import Tensor
import TestSupport
import Testing

/// `bench model` on a small frame: it times the default model and reports its numbers, the
/// buffer pool's use and, for bf16, the error against an fp32 pass.
@Suite struct BenchModelCommandTests {
    @Test func reportsTimesPoolAndPeakMemory() throws {
        let result = try run(["bench", "model", "--height", "128", "--width", "160", "--runs", "2", "--threads", "2"])
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("swift-cpu  fp32  median ") && $0.contains("peak RSS") }, "\(result.out)")
        // The pool: every timed frame draws its buffers from what the warm-up left behind.
        let pool = try #require(lines.first { $0.contains("tensor buffers: peak in use") }, "\(result.out)")
        let reused = pool.split(separator: "(").last.flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
        #expect(reused > 100, "\(pool)")
    }

    @Test func bf16ReportsItsErrorAgainstFP32() throws {
        let result = try run([
            "bench", "model", "--height", "128", "--width", "128", "--runs", "1", "--precision", "bf16",
        ])
        guard Precision.bf16.isSupported else {
            #expect(result.status != 0 && result.err.contains("bf16"), "\(result.err)")
            return
        }
        #expect(result.status == 0, "\(result.err)")
        let line = try #require(result.out.split(separator: "\n").first { $0.contains("bf16 vs fp32 on this input") })
        // "sharp max X mean Y": bf16 rounding, not zero and not garbage.
        let words = line.split(separator: " ").map(String.init)
        let i = try #require(words.firstIndex(of: "max"))
        let maxError = try #require(Double(words[i + 1]))
        #expect(maxError > 0 && maxError < 0.5, "\(line)")
    }

    /// `SPKDEBLUR_KERNELS` picks a narrower kernel build for comparisons; the header names
    /// the one that ran.
    @Test func kernelsVariableChoosesTheBuild() throws {
        let binary = try spkdeblurBinary()
        func bench(_ value: String) throws -> ProcessResult {
            let r = try runProcess(
                URL(fileURLWithPath: "/usr/bin/env"),
                [
                    "SPKDEBLUR_KERNELS=\(value)", binary.path, "bench", "model", "--height", "128", "--width", "128",
                    "--runs", "1",
                ])
            #expect(r.status == 0, "\(r.err)")
            return r
        }
        func header(_ value: String) throws -> String {
            let out = try bench(value).out
            return out.split(separator: "\n").first { $0.hasPrefix("spkdeblur bench model:") }.map(String.init) ?? out
        }
        #expect(try header("portable").contains(", portable kernels,"))
        let avx2 = try header("avx2")
        #expect(
            avx2.contains(
                CPUBackend().kernelInstructionSet == "portable" ? ", portable kernels," : ", AVX2+FMA kernels,"),
            "\(avx2)")
        // A value it does not know is said on standard error and runs the widest build.
        let typo = try bench("avx3")
        #expect(typo.err.contains("SPKDEBLUR_KERNELS=avx3"), "\(typo.err)")
        let widest = CPUBackend().kernelInstructionSet
        #expect(typo.out.contains(", \(widest) kernels,"), "\(typo.out)")
    }
}
