import ArgumentParser
import Foundation
import ModelCatalog

/// `spkdeblur models`: the trained models built into this binary.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the trained models embedded in this binary.",
        discussion: """
            The default model runs whenever a command or the deblur stage gets no weights; another \
            embedded model is chosen with --weights embedded:NAME (stage parameter weights: embedded:NAME). \
            Each model's weights are checked against the SHA-256 in its manifest when loaded.
            """)

    @Flag(help: "Print the manifests as JSON.") var json = false

    func run() throws {
        let models: [EmbeddedModel]
        do { models = try EmbeddedModels.all() } catch { throw RunError(error.description) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(models.map(\.manifest))
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for model in models {
            let m = model.manifest
            let c = model.config
            let isDefault = m.name == EmbeddedModels.defaultName ? " (default)" : ""
            print("\(m.name)\(isDefault): \(m.summary)")
            print(
                "  config:    D \(c.D_embed_dim) ch, depths \(c.D_depths), heads \(c.D_num_heads); "
                    + "S \(c.S_embed_dim) ch, depths \(c.S_depths), heads \(c.S_num_heads); T = \(c.S_in_chs)")
            print(String(format: "  size:      %d parameters, %.1f GFLOP per 500x800 frame", m.params, m.gflop500x800))
            print("  training:  \(m.training)")
            if !m.heldOut.isEmpty {
                let scores = m.heldOut.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f dB", $0.key, $0.value) }
                print("  held-out:  \(scores.joined(separator: ", "))")
            }
            print("  sha256:    \(m.sha256)")
        }
    }
}
