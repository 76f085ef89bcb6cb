import Foundation
import Testing

/// The checkpoint fixtures of the Checkpoint module's tests (made by the reference model).
private func checkpointFixture(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CheckpointTests/Fixtures/\(name)")
}

@Suite struct ConvertWeightsCommandTests {
    @Test func convertsThePthToTheReferenceSafetensorsBytes() throws {
        let dir = try temporaryDirectory("cli-convert")
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("tiny.safetensors")
        let input = checkpointFixture("tiny.pth")

        let first = try run(["convert-weights", input.path, output.path])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.contains("tensors: 281"))
        #expect(first.out.contains("parameters: "))
        let reference = try Data(contentsOf: checkpointFixture("tiny.weights.safetensors"))
        #expect(try Data(contentsOf: output) == reference)

        // An existing output is kept unless --force is given.
        try Data("keep me".utf8).write(to: output)
        let refused = try run(["convert-weights", input.path, output.path])
        #expect(refused.status != 0)
        #expect(refused.err.contains("pass --force"))
        #expect(try Data(contentsOf: output) == Data("keep me".utf8))
        let forced = try run(["convert-weights", input.path, output.path, "--force"])
        #expect(forced.status == 0)
        #expect(try Data(contentsOf: output) == reference)
    }

    @Test func badInputGivesAOneLineError() throws {
        let dir = try temporaryDirectory("cli-convert")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cut = dir.appendingPathComponent("cut.pth")
        let output = dir.appendingPathComponent("o.safetensors")
        try Data(contentsOf: checkpointFixture("tiny.pth")).prefix(4096).write(to: cut)
        let result = try run(["convert-weights", cut.path, output.path])
        #expect(result.status != 0)
        #expect(result.err.contains("cut.pth: truncated"))
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func helpDescribesTheCommand() throws {
        let help = try run(["convert-weights", "--help"])
        #expect(help.status == 0)
        #expect(help.out.contains("--force"))
        #expect(help.out.contains("safetensors"))
    }
}
