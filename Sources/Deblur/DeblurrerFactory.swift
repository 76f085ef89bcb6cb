import Checkpoint
import Foundation
import ModelCatalog
import SpkDeblurNet
import Tensor

/// What a user asked to deblur with: the one description the deblur stage and every command
/// turn into a ``Deblurrer`` through ``DeblurrerFactory``.
public struct ModelChoice: Sendable, Equatable {
    /// The method.
    public enum Kind: String, CaseIterable, Sendable {
        case spkdeblurnet, classical, passthrough
    }

    /// The method (default: SpkDeblurNet).
    public var kind: Kind
    /// A `.pth` / `.safetensors` path, or `embedded:NAME`; nil: the embedded default model.
    public var weights: String?
    /// A config JSON path (default: the embedded manifest's, or inferred from the weights).
    public var config: String?
    /// CPU threads (default: all cores).
    public var threads: Int?
    /// GEMM precision.
    public var precision: Precision

    public init(
        kind: Kind = .spkdeblurnet, weights: String? = nil, config: String? = nil, threads: Int? = nil,
        precision: Precision = .fp32
    ) {
        self.kind = kind
        self.weights = weights
        self.config = config
        self.threads = threads
        self.precision = precision
    }

    /// The prefix that names an embedded model in `weights`.
    public static let embeddedPrefix = "embedded:"
}

/// Which model made a result, as recorded in output files.
public struct ModelIdentity: Sendable, Equatable {
    /// `spkdeblurnet/NAME` for an embedded model, `spkdeblurnet` for a weights file, else the method.
    public var name: String
    /// The model config as JSON (`{}` for weight-free methods).
    public var configJSON: String
    /// SHA-256 of the weights (empty for weight-free methods).
    public var weightsSHA256: String
}

/// A deblurrer and what it is.
public struct ResolvedModel: Sendable {
    public let deblurrer: any Deblurrer
    public let identity: ModelIdentity
}

/// Turns a ``ModelChoice`` into a ready deblurrer. Every failure is a one-line
/// ``DeblurError`` naming the file, model or option.
public enum DeblurrerFactory {
    public static func make(_ choice: ModelChoice) throws(DeblurError) -> ResolvedModel {
        switch choice.kind {
        case .classical:
            return ResolvedModel(
                deblurrer: ClassicalDeblurrer(),
                identity: ModelIdentity(name: "classical", configJSON: "{}", weightsSHA256: ""))
        case .passthrough:
            return ResolvedModel(
                deblurrer: PassthroughDeblurrer(),
                identity: ModelIdentity(name: "passthrough", configJSON: "{}", weightsSHA256: ""))
        case .spkdeblurnet:
            break
        }
        let backend: CPUBackend
        do { backend = try CPUBackend(threads: choice.threads, precision: choice.precision) } catch {
            throw DeblurError("precision \(choice.precision.rawValue)", "\(error)")
        }
        let (model, identity) = try network(weights: choice.weights, config: choice.config)
        return ResolvedModel(deblurrer: NetworkDeblurrer(model: model, backend: backend), identity: identity)
    }

    /// Loads SpkDeblurNet from a weights file (config from `config`, else inferred from the
    /// tensors) or an embedded model (`embedded:NAME`; nil: the default one).
    public static func network(
        weights: String?, config configPath: String?
    ) throws(DeblurError) -> (model: SpkDeblurNet, identity: ModelIdentity) {
        var config: SpkDeblurNetConfig?
        if let path = configPath {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DeblurError(path, "cannot read the model config")
            }
            do { config = try SpkDeblurNetConfig.decode(json: data, source: path) } catch {
                throw DeblurError(path, error.description)
            }
        }
        let weights = weights ?? ModelChoice.embeddedPrefix + EmbeddedModels.defaultName
        if weights.hasPrefix(ModelChoice.embeddedPrefix) {
            let name = String(weights.dropFirst(ModelChoice.embeddedPrefix.count))
            let embedded: EmbeddedModel
            let model: SpkDeblurNet
            do {
                embedded = try EmbeddedModels.named(name)
                model = try embedded.load()
            } catch { throw DeblurError("weights \(weights)", error.description) }
            if let config, config != embedded.config {
                throw DeblurError(weights, "the embedded model has its own config; leave out the config")
            }
            return (
                model,
                ModelIdentity(
                    name: "spkdeblurnet/\(embedded.manifest.name)", configJSON: model.config.jsonString(),
                    weightsSHA256: embedded.manifest.sha256)
            )
        }
        guard FileManager.default.fileExists(atPath: weights) else {
            throw DeblurError(weights, "weights file not found")
        }
        do {
            let url = URL(fileURLWithPath: weights)
            let model = try SpkDeblurNet.load(weights: url, config: config)
            return (
                model,
                ModelIdentity(
                    name: "spkdeblurnet", configJSON: model.config.jsonString(),
                    weightsSHA256: (try? StateDict.sha256(of: url)) ?? "")
            )
        } catch {
            throw DeblurError(weights, "\(error)")
        }
    }
}
