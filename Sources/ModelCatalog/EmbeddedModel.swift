import CModelResources
import Checkpoint
import Foundation
import SpkDeblurNet

/// A trained model built into the binary: its manifest (name, config, provenance, held-out
/// scores) and its weights, checked against the manifest's SHA-256 before use.
public struct EmbeddedModel: Sendable {
    /// What the manifest JSON says about the model.
    public struct Manifest: Codable, Sendable, Equatable {
        /// Short name (`--weights embedded:NAME`, `model_name` in HDF5 files).
        public var name: String
        /// One line on what it is for.
        public var summary: String
        /// Parameter count.
        public var params: Int
        /// Multiply-adds x 2 of one 500x800 frame, in GFLOP.
        public var gflop500x800: Double
        /// Where its training data came from and how long it trained.
        public var training: String
        /// Mean held-out PSNR (dB) of the blurry input, the classical baseline and the model.
        public var heldOut: [String: Double]
        /// SHA-256 of the weights file, lowercase hex.
        public var sha256: String

        enum CodingKeys: String, CodingKey {
            case name, summary, params, training, sha256
            case gflop500x800 = "gflop_500x800"
            case heldOut = "held_out"
        }
    }

    /// The manifest.
    public let manifest: Manifest
    /// The model's constructor config.
    public let config: SpkDeblurNetConfig
    /// The weights (safetensors bytes).
    public let weights: [UInt8]

    /// Parses one model's manifest and weights; checks the digest and the config.
    /// - Throws: ``ModelCatalogError`` naming the model and the problem.
    public init(manifestJSON: [UInt8], weights: [UInt8], source: String) throws(ModelCatalogError) {
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestJSON)) } catch {
            throw .damaged(model: source, problem: "manifest is not valid (\(Self.oneLine(error)))")
        }
        do {
            config = try SpkDeblurNetConfig.decode(json: Data(manifestJSON), source: "\(source) manifest")
            try config.validate()
        } catch {
            throw .damaged(model: source, problem: error.description)
        }
        let digest = SHA256.hex(of: weights)
        guard digest == manifest.sha256.lowercased() else {
            throw .damaged(
                model: manifest.name,
                problem:
                    "weights SHA-256 \(digest.prefix(16))... differs from the manifest's \(manifest.sha256.prefix(16))..."
            )
        }
        self.manifest = manifest
        self.weights = weights
    }

    /// Builds the network from the weights.
    /// - Throws: ``ModelCatalogError/damaged(model:problem:)`` when the weights do not load.
    public func load() throws(ModelCatalogError) -> SpkDeblurNet {
        do {
            let dict = try SafeTensors.read(bytes: weights, file: "embedded:\(manifest.name)")
            return try SpkDeblurNet(config: config, weights: dict, source: "embedded:\(manifest.name)")
        } catch let error as CheckpointError {
            throw .damaged(model: manifest.name, problem: error.description)
        } catch let error as SpkDeblurNetError {
            throw .damaged(model: manifest.name, problem: error.description)
        } catch {
            throw .damaged(model: manifest.name, problem: "\(error)")
        }
    }

    static func oneLine(_ error: Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .keyNotFound(let key, _): return "missing '\(key.stringValue)'"
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
                let path = c.codingPath.map(\.stringValue).joined(separator: ".")
                return path.isEmpty ? "not a JSON object" : "bad '\(path)'"
            @unknown default: return "undecodable"
            }
        }
        return "\(error)"
    }
}

/// The models built into this binary.
public enum EmbeddedModels {
    /// The name of the default model (what runs when no weights are given).
    public static let defaultName = "compact48"

    /// Manifest and weight bytes of every embedded model, in build order.
    public static func rawEntries() -> [(manifest: [UInt8], weights: [UInt8])] {
        (0..<Int(spk_embedded_model_count())).map { i in
            var manifestCount = 0
            var weightsCount = 0
            let m = spk_embedded_model_manifest(Int32(i), &manifestCount)
            let w = spk_embedded_model_weights(Int32(i), &weightsCount)
            return (
                m.map { [UInt8](UnsafeBufferPointer(start: $0, count: manifestCount)) } ?? [],
                w.map { [UInt8](UnsafeBufferPointer(start: $0, count: weightsCount)) } ?? []
            )
        }
    }

    /// Every embedded model, parsed and checked.
    /// - Throws: ``ModelCatalogError`` for the first damaged one.
    public static func all() throws(ModelCatalogError) -> [EmbeddedModel] {
        var models: [EmbeddedModel] = []
        for (i, entry) in rawEntries().enumerated() {
            models.append(
                try EmbeddedModel(manifestJSON: entry.manifest, weights: entry.weights, source: "embedded #\(i)"))
        }
        return models
    }

    /// The embedded model called `name` (default: ``defaultName``).
    /// - Throws: ``ModelCatalogError/unknown(name:available:)`` or a damaged-model error.
    public static func named(_ name: String = defaultName) throws(ModelCatalogError) -> EmbeddedModel {
        let models = try all()
        guard let model = models.first(where: { $0.manifest.name == name }) else {
            throw .unknown(name: name, available: models.map(\.manifest.name))
        }
        return model
    }
}

/// Why an embedded model cannot be used. `description` is one line.
public enum ModelCatalogError: Error, CustomStringConvertible, Sendable {
    /// The manifest or the weights are corrupt or do not match each other.
    case damaged(model: String, problem: String)
    /// No embedded model has that name.
    case unknown(name: String, available: [String])

    public var description: String {
        switch self {
        case .damaged(let model, let problem):
            return "embedded model '\(model)' is damaged: \(problem) (rebuild spkdeblur, or pass --weights)"
        case .unknown(let name, let available):
            return
                "no embedded model '\(name)' (embedded: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        }
    }
}
