import Testing

@testable import Pipeline

@Suite struct DescriptionTests {
    let registry = testRegistry(collector: Collector())

    @Test func validFileBuildsTheGraph() throws {
        let text = """
            pipeline: t
            clock: {speed: 4}
            stages:
              src: {kind: counter, count: 5}
              sink:
                kind: collector
                inputs: {in: {from: src.out, capacity: 3, policy: drop-oldest}}
            """
        let g = try PipelineDescription(registry: registry).parse(text: text, file: "t.yaml")
        #expect(g.name == "t" && g.clock.speed == 4)
        #expect(
            g.edges == [
                PipelineGraph.Edge(
                    fromStage: "src", fromPort: "out", toStage: "sink", toPort: "in", capacity: 3, policy: .dropOldest)
            ])
        #expect(g.stages.first { $0.name == "src" }?.parameters.int("count") == 5)
        #expect(g.stages.first { $0.name == "src" }?.parameters.double("spacing_ms") == 1)
    }

    @Test func everyProblemIsReportedWithLineAndColumn() {
        let text = """
            stages:
              src: {kind: countr}
              src2: {kind: counter, count: -3, colour: red}
              sink:
                kind: collector
                mode: c
                inputs: {in: nowhere.out}
              sink2:
                kind: collector
                inputs: {in: words.out}
              words: {kind: speaker}
              sink3: {kind: collector}
            """
        let error = #expect(throws: PipelineError.self) {
            try PipelineDescription(registry: registry).parse(text: text, file: "bad.yaml")
        }
        guard case .invalid(let d)? = error else { Issue.record("expected diagnostics"); return }
        let lines = d.map(\.description)
        #expect(lines.contains("bad.yaml:2:15: stage 'src': unknown kind 'countr' (did you mean 'counter'?)"))
        #expect(
            lines.contains { $0.hasPrefix("bad.yaml:3:32: stage 'src2': parameter 'count': -3 is outside 0...1000000") }
        )
        #expect(lines.contains { $0.hasPrefix("bad.yaml:3:44: stage 'src2': unknown parameter 'colour'") })
        #expect(lines.contains { $0.hasPrefix("bad.yaml:6:11: stage 'sink': parameter 'mode': expected one of a, b") })
        #expect(
            lines.contains { $0.hasPrefix("bad.yaml:7:18: stage 'sink': input 'in' refers to unknown stage 'nowhere'") }
        )
        #expect(
            lines.contains {
                $0.hasPrefix("bad.yaml:10:18: stage 'sink2': input 'in' takes ticks but 'words.out' produces words")
            })
        #expect(lines.contains { $0.hasPrefix("bad.yaml:12:3: stage 'sink3': input 'in' (ticks) is not connected") })
        #expect(d.count == 7)
    }

    @Test func cyclesAndBadYAMLAreReported() {
        var r = registry
        r.register(
            StageKind(
                name: "relay", summary: "", parameters: [], inputs: [PortSpec("in", ticks)],
                outputs: [PortSpec("out", ticks)],
                make: { _, _ in Collector() }))
        let cyclic = """
            stages:
              a: {kind: relay, inputs: {in: b.out}}
              b: {kind: relay, inputs: {in: a.out}}
            """
        let e1 = #expect(throws: PipelineError.self) {
            try PipelineDescription(registry: r).parse(text: cyclic, file: "c.yaml")
        }
        #expect(e1?.description.contains("the pipeline has a cycle: a -> b -> a") == true)
        let e2 = #expect(throws: PipelineError.self) {
            try PipelineDescription(registry: r).parse(text: "stages:\n  a: {kind: relay\n", file: "y.yaml")
        }
        #expect(e2?.description.hasPrefix("y.yaml:3:") == true)
    }

    @Test func overridesAreTypedAndValidated() throws {
        let text = """
            clock: {speed: max}
            stages:
              src: {kind: counter, count: 5}
              sink: {kind: collector, inputs: {in: src}}
            """
        let d = PipelineDescription(registry: registry)
        let g = try d.parse(text: text, file: "t.yaml", overrides: ["src.count=7", "src.label=hello"])
        #expect(g.stages.first { $0.name == "src" }?.parameters.int("count") == 7)
        #expect(g.stages.first { $0.name == "src" }?.parameters.string("label") == "hello")
        #expect(g.clock.speed == nil)
        let e = #expect(throws: PipelineError.self) {
            try d.parse(text: text, file: "t.yaml", overrides: ["src.count=many", "nope.x=1"])
        }
        #expect(e?.description.contains("stage 'src': parameter 'count': expected an integer, got 'many'") == true)
        #expect(e?.description.contains("--set: stage 'nope': no such stage in t.yaml") == true)
    }

    /// The reader's own YAML composition: aliases, YAML 1.1 scalars, duplicate keys with both
    /// lines, several documents, and nesting past libyaml's limit (1,000 levels).
    @Test func yamlFeaturesAndProblemsOfTheOwnComposer() throws {
        let description = PipelineDescription(registry: registry)
        let aliased = """
            stages:
              src: {kind: counter, count: &n 0x10, spacing_ms: .5}
              src2: {kind: counter, count: *n}
              sink: {kind: collector, inputs: {in: src}}
              sink2: {kind: collector, inputs: {in: src2}}
            """
        let g = try description.parse(text: aliased, file: "a.yaml")
        #expect(g.stages.first { $0.name == "src" }?.parameters.int("count") == 16)
        #expect(g.stages.first { $0.name == "src2" }?.parameters.int("count") == 16)
        #expect(g.stages.first { $0.name == "src" }?.parameters.double("spacing_ms") == 0.5)

        func problems(_ text: String) -> [String] {
            do {
                _ = try description.parse(text: text, file: "p.yaml")
                return []
            } catch {
                guard case .invalid(let d) = error else { return ["\(error)"] }
                return d.map(\.description)
            }
        }
        let duplicate = problems("stages:\n  a: {kind: counter}\n  b: {kind: counter}\n  a: {kind: collector}\n")
        #expect(duplicate == ["p.yaml:4:3: not valid YAML: duplicated key 'a' in this mapping (first on line 2)"])
        #expect(problems("stages: {}\n---\nstages: {}\n").first?.contains("single document") == true)
        #expect(problems("stages: {a: *nowhere}\n").first?.contains("unknown alias '*nowhere'") == true)
        #expect(problems("stages: {a: [1, 2}\n").first?.hasPrefix("p.yaml:1:") == true)
        let deep = "stages: " + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        #expect(problems(deep).first?.contains("nesting level") == true)
        #expect(problems("") == ["p.yaml: the file is empty"])
    }
}
