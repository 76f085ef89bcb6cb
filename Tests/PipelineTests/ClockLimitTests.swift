import Foundation
import Testing

@testable import Pipeline

/// Clock values that used to pass validation and trap in the sources are refused by name.
@Suite struct ClockLimitTests {
    let registry = testRegistry(collector: Collector())

    @Test(arguments: [
        "{start: 1e300}", "{start: .nan}", "{start: -1}", "{duration: .nan}", "{duration: .inf}", "{duration: 0}",
        "{speed: 1e-300}", "{speed: .nan}", "{speed: 1e9}",
    ])
    func absurdClockValuesAreRefused(clock: String) {
        let text = """
            clock: \(clock)
            stages:
              src: {kind: counter, count: 5}
              sink: {kind: collector, inputs: {in: src.out}}
            """
        do {
            _ = try PipelineDescription(registry: registry).parse(text: text, file: "t.yaml")
            Issue.record("accepted clock \(clock)")
        } catch {
            #expect(error.description.contains("t.yaml:1:"), "\(error)")
            #expect(error.description.contains("clock"), "\(error)")
        }
    }

    @Test func usableValuesPass() throws {
        let text = """
            clock: {speed: 0.25, start: 1.5, duration: 2}
            stages:
              src: {kind: counter, count: 5}
              sink: {kind: collector, inputs: {in: src.out}}
            """
        let g = try PipelineDescription(registry: registry).parse(text: text, file: "t.yaml")
        #expect(g.clock == ClockSettings(speed: 0.25, start: 1.5, duration: 2))
        #expect(ClockSettings.speedProblem(.nan) != nil && ClockSettings.startProblem(.infinity) != nil)
    }
}

/// Description files that crashed `validate` or gave messages a user cannot act on.
@Suite struct HostileDescriptionTests {
    let registry = testRegistry(collector: Collector())

    @Test(arguments: ["\".\"", "\"..\"", "{from: \"\"}", "\"src.\"", "\".out\""])
    func malformedEndpointsAreOneLine(endpoint: String) {
        let text = """
            stages:
              src: {kind: counter, count: 5}
              sink: {kind: collector, inputs: {in: \(endpoint)}}
            """
        do {
            _ = try PipelineDescription(registry: registry).parse(text: text, file: "t.yaml")
            Issue.record("accepted input \(endpoint)")
        } catch {
            #expect(error.description.contains("t.yaml:3:"), "\(error)")
            #expect(!error.description.contains("\n"), "\(error)")
        }
    }

    @Test func duplicateKeysBinaryFilesAndFoldersAreOneLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("desc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dup = dir.appendingPathComponent("dup.yaml")
        try "stages:\n  a: {kind: counter}\n  a: {kind: counter}\n".write(to: dup, atomically: true, encoding: .utf8)
        let binary = dir.appendingPathComponent("bin.yaml")
        try Data([0x00, 0xFF, 0xFE, 0x80, 0x12]).write(to: binary)
        for (path, wanted) in [
            (dup.path, "duplicated"), (binary.path, "not UTF-8 text"), (dir.path, "not a regular file"),
        ] {
            do {
                _ = try PipelineDescription(registry: registry).load(path: path)
                Issue.record("accepted \(path)")
            } catch {
                #expect(error.description.contains(wanted), "\(error)")
                #expect(!error.description.contains("\n"), "\(error)")
            }
        }
    }
}
