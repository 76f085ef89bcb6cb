import ArgumentParser
import Checkpoint
import Deblur
import Foundation
import SpkDeblurNet
import Tensor

/// `spkdeblur verify`: runs a checkpoint on reference inputs and compares the outputs.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a checkpoint against reference outputs exported from PyTorch.",
        discussion: """
            Runs the model on the `blur`, `spike` and `tfi` tensors of IO and prints the max abs \
            error of each output against IO's `sharp`, `spike_recon` and `quick_sharp`. Exit \
            status 1 past the tolerance.
            """)

    @Option(help: "Weights (.pth, .safetensors, or embedded:NAME).") var weights: String
    @Option(help: "Model config JSON (reference constructor keywords, top level or under \"config\").")
    var config: String?
    @Option(help: "Reference inputs and outputs (.safetensors).") var io: String
    @Option(help: "Largest allowed max abs error (a finite number >= 0).") var tolerance: Float = 1e-3
    @Option(help: "CPU threads.") var threads: Int?
    @Option(help: "GEMM precision: fp32, or bf16 (needs a CPU with avx512_bf16).") var precision: Precision = .fp32

    func validate() throws {
        guard tolerance.isFinite, tolerance >= 0 else {
            throw ValidationError("--tolerance \(tolerance) must be a finite number >= 0")
        }
    }

    func run() throws {
        let backend: CPUBackend
        do { backend = try CPUBackend(threads: threads, precision: precision) } catch {
            throw ValidationError("--precision: \(error)")
        }
        let model: SpkDeblurNet
        do { model = try DeblurrerFactory.network(weights: weights, config: config).model } catch {
            throw RunError(error.description)
        }
        let tensors = try SafeTensors.read(contentsOf: URL(fileURLWithPath: io))
        func tensor(_ key: String) throws -> Tensor {
            guard let t = tensors.tensors[key] else {
                throw ValidationError("\(io): missing tensor '\(key)'")
            }
            return Tensor(shape: t.shape, data: try t.floats())
        }
        let start = Date()
        let out = try model(
            blur: tensor("blur"), spike: tensor("spike"), tfi: tensor("tfi"), backend: backend)
        let seconds = Date().timeIntervalSince(start)
        var worst: Float = 0
        for (name, value) in [("sharp", out.sharp), ("spike_recon", out.spikeRecon), ("quick_sharp", out.quickSharp)] {
            let reference = try tensor(name)
            guard reference.shape == value.shape else {
                throw ValidationError(
                    "\(io): '\(name)' has shape \(reference.shape), the model produced \(value.shape)")
            }
            let error = value.maxAbsDifference(reference)
            worst = max(worst, error)
            print("\(name.padding(toLength: 12, withPad: " ", startingAt: 0)) max abs error \(error)")
        }
        print(
            String(
                format: "forward pass %.3f s (%@); tolerance %g: %@", seconds, precision.rawValue, Double(tolerance),
                worst <= tolerance ? "PASS" : "FAIL"))
        if !(worst <= tolerance) { throw ExitCode(1) }
    }
}
