import Checkpoint
import Foundation
import ModelCatalog
import SpkDeblurNet
import Tensor
import Testing

func fixtureURL(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
}

@Suite struct EmbeddedModelTests {
    @Test func theDefaultModelIsEmbeddedAndConsistent() throws {
        let model = try EmbeddedModels.named()
        #expect(model.manifest.name == EmbeddedModels.defaultName)
        #expect(model.manifest.sha256 == SHA256.hex(of: model.weights))
        // The live default stays small: <= 30 GFLOP per 500x800 frame, <= 8 MB of weights.
        #expect(model.manifest.gflop500x800 <= 30)
        #expect(model.weights.count <= 8 << 20)
        let network = try model.load()
        #expect(network.config == model.config)
        #expect(model.config.S_in_chs == 56)
        #expect(try EmbeddedModels.all().map(\.manifest.name).contains(EmbeddedModels.defaultName))
    }

    @Test func outputsMatchThePyTorchReference() throws {
        let network = try EmbeddedModels.named().load()
        let io = try SafeTensors.read(contentsOf: fixtureURL("\(EmbeddedModels.defaultName).io.safetensors"))
        func tensor(_ key: String) throws -> Tensor {
            let t = try #require(io.tensors[key], "missing \(key)")
            return Tensor(shape: t.shape, data: try t.floats())
        }
        let out = try network(
            blur: try tensor("blur"), spike: try tensor("spike"), tfi: try tensor("tfi"), backend: CPUBackend())
        for (name, got) in [("sharp", out.sharp), ("spike_recon", out.spikeRecon), ("quick_sharp", out.quickSharp)] {
            let want = try tensor(name)
            #expect(got.shape == want.shape, "\(name)")
            let worst = zip(got.data, want.data).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 2e-5, "\(name): max abs error \(worst)")
        }
    }

    @Test func aFlippedWeightByteIsACleanError() throws {
        let entry = try #require(EmbeddedModels.rawEntries().first)
        var weights = entry.weights
        weights[weights.count / 2] ^= 0x40
        do {
            _ = try EmbeddedModel(manifestJSON: entry.manifest, weights: weights, source: "test")
            Issue.record("accepted damaged weights")
        } catch {
            #expect(error.description.contains("SHA-256"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func damagedManifestsAreCleanErrors() throws {
        let entry = try #require(EmbeddedModels.rawEntries().first)
        let cases: [[UInt8]] = [
            Array(entry.manifest.prefix(entry.manifest.count / 2)),  // truncated
            Array("[]".utf8),  // not an object
            Array("{\"name\": 3}".utf8),  // wrong types
            [],
        ]
        for manifest in cases {
            #expect(throws: ModelCatalogError.self) {
                try EmbeddedModel(manifestJSON: manifest, weights: entry.weights, source: "test")
            }
        }
    }

    @Test func weightsThatMatchTheirDigestButDoNotParseAreACleanError() throws {
        let entry = try #require(EmbeddedModels.rawEntries().first)
        var manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(entry.manifest)) as? [String: Any])
        for weights in [
            Array(entry.weights.prefix(100)), Array(entry.weights.dropLast(4096)), [UInt8](repeating: 0xFF, count: 64),
        ] {
            manifest["sha256"] = SHA256.hex(of: weights)
            let json = [UInt8](try JSONSerialization.data(withJSONObject: manifest))
            let model = try EmbeddedModel(manifestJSON: json, weights: weights, source: "test")
            do {
                _ = try model.load()
                Issue.record("loaded damaged weights")
            } catch {
                #expect(error.description.hasPrefix("embedded model '\(EmbeddedModels.defaultName)' is damaged"))
            }
        }
    }

    @Test func unknownNamesListWhatIsEmbedded() {
        do {
            _ = try EmbeddedModels.named("no-such-model")
            Issue.record("found a model that does not exist")
        } catch {
            #expect(error.description.contains(EmbeddedModels.defaultName))
        }
    }
}
