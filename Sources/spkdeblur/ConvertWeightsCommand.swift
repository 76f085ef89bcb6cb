import ArgumentParser
import Checkpoint
import Foundation

/// `spkdeblur convert-weights IN OUT`: rewrites a PyTorch `.pth` (or safetensors) state dict
/// as a safetensors file.
struct ConvertWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-weights",
        abstract: "Convert a PyTorch .pth state dict to a .safetensors file.",
        discussion: """
            Reads a torch.save checkpoint (zip format) without executing anything from it: only \
            state_dict tensors are accepted, and a dict wrapping the state dict under a common \
            key ('state_dict', 'params', ...) is unwrapped. A safetensors input is rewritten \
            canonically. Prints the number of tensors and elements and the output's SHA-256.
            """)

    @Argument(help: "The checkpoint to read (.pth, or .safetensors).")
    var input: String

    @Argument(help: "The safetensors file to write.")
    var output: String

    @Flag(help: "Overwrite OUTPUT if it exists.")
    var force = false

    @Option(name: .customLong("strip-prefix"), help: "Remove this prefix from tensor names (e.g. 'module.').")
    var stripPrefix: String?

    func validate() throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: input, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ValidationError("input '\(input)' does not exist or is not a file")
        }
        let inURL = URL(fileURLWithPath: input).standardizedFileURL
        let outURL = URL(fileURLWithPath: output).standardizedFileURL
        guard inURL.path != outURL.path else {
            throw ValidationError("output '\(output)' is the input file")
        }
        if fm.fileExists(atPath: output, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { throw ValidationError("output '\(output)' is a directory") }
            guard force else { throw ValidationError("output '\(output)' exists; pass --force to overwrite it") }
        }
    }

    func run() throws {
        var dict = try StateDict.load(contentsOf: URL(fileURLWithPath: input))
        if let stripPrefix { dict = dict.strippingPrefix(stripPrefix) }
        let outURL = URL(fileURLWithPath: output)
        try SafeTensors.write(dict, to: outURL)

        var byType: [DType: Int] = [:]
        for tensor in dict.tensors.values { byType[tensor.dtype, default: 0] += tensor.elementCount }
        let types = byType.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
        print("\(input) -> \(output)")
        if let key = dict.metadata[StateDict.wrapperKeyMetadata] {
            print("state dict taken from wrapper key '\(key)'")
        }
        print("tensors: \(dict.tensors.count)")
        print("parameters: \(dict.elementCount) elements (\(types.joined(separator: ", ")))")
        print("sha256: \(try SHA256.hex(ofFile: outURL))")
    }
}
