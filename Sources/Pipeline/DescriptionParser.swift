import Foundation

/// One pass over a description: YAML to ``PipelineGraph``, collecting every problem as a
/// ``Diagnostic`` with its line and column. Each step is its own method; lookups go through
/// dictionaries, so the cost is linear in stages and edges.
struct DescriptionParser {
    let description: PipelineDescription
    let file: String
    private(set) var diagnostics: [Diagnostic] = []

    typealias StageEntry = (name: String, keyNode: YAMLNode, settings: YAMLNode)
    typealias RawInput = (stage: String, port: String, node: YAMLNode, keyNode: YAMLNode)

    init(description: PipelineDescription, file: String) {
        self.description = description
        self.file = file
    }

    mutating func report(_ node: YAMLNode?, _ stage: String?, _ message: String) {
        diagnostics.append(
            Diagnostic(file: file, line: node?.line ?? 0, column: node?.column ?? 0, stage: stage, message: message))
    }

    mutating func parse(text: String, overrides: [String]) throws(PipelineError) -> PipelineGraph {
        let root = try compose(text)
        guard let top = root.mapping else {
            throw .invalid([
                Diagnostic(
                    file: file, line: root.line, column: root.column,
                    message: "the top level must be a mapping with 'stages'")
            ])
        }
        let (name, clock, entries) = readTop(top, root: root)
        let overridden = readOverrides(overrides, stages: Set(entries.map(\.name)))
        var stages: [PipelineGraph.StageNode] = []
        var rawInputs: [RawInput] = []
        for entry in entries {
            if let stage = readStage(entry, overrides: overridden[entry.name] ?? [:], inputs: &rawInputs) {
                stages.append(stage)
            }
        }
        // Stages by name as indices: a StageNode copy retains every field of its kind.
        var byName: [String: Int] = [:]
        byName.reserveCapacity(stages.count)
        for (i, stage) in stages.enumerated() where byName[stage.name] == nil { byName[stage.name] = i }
        let edges = rawInputs.compactMap { readEdge($0, stages: stages, byName: byName) }
        if let cycle = PipelineDescription.findCycle(stages.map(\.name), edges, index: byName) {
            let keyNode = entries.first { $0.name == cycle[0] }?.keyNode
            report(keyNode, cycle[0], "the pipeline has a cycle: \(cycle.joined(separator: " -> "))")
        }
        if !diagnostics.isEmpty {
            throw .invalid(diagnostics.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) })
        }
        return PipelineGraph(name: name, stages: stages, edges: edges, clock: clock, text: text, file: file)
    }

    /// The YAML document's root node.
    func compose(_ text: String) throws(PipelineError) -> YAMLNode {
        let parsed: YAMLNode?
        do { parsed = try YAMLNode.compose(text) } catch {
            throw .invalid([
                Diagnostic(
                    file: file, line: error.line, column: error.column, message: "not valid YAML: \(error.message)")
            ])
        }
        guard let parsed else {
            throw .invalid([Diagnostic(file: file, line: 0, column: 0, message: "the file is empty")])
        }
        return parsed
    }

    /// `pipeline`, `clock` and the `stages` entries.
    mutating func readTop(_ top: [(key: YAMLNode, value: YAMLNode)], root: YAMLNode) -> (
        String, ClockSettings, [StageEntry]
    ) {
        var name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var clock = ClockSettings()
        var entries: [StageEntry] = []
        var seenStages = false
        for (k, v) in top {
            switch k.string ?? "" {
            case "pipeline":
                name = v.string ?? name
            case "clock":
                var problems: [(YAMLNode?, String)] = []
                clock = description.parseClock(v, report: { problems.append(($0, $1)) })
                for (node, message) in problems { report(node, nil, message) }
            case "stages":
                seenStages = true
                guard let m = v.mapping else {
                    report(v, nil, "'stages' must be a mapping of stage name to settings")
                    continue
                }
                for (sk, sv) in m {
                    guard let sname = sk.string, sv.mapping != nil else {
                        report(sv, sk.string, "a stage must be a mapping with 'kind'")
                        continue
                    }
                    entries.append((sname, sk, sv))
                }
            default:
                report(
                    k, nil,
                    "unknown top-level key '\(k.string ?? "?")' (expected pipeline, clock, stages)"
                        + PipelineDescription.suggestion(k.string ?? "", ["pipeline", "clock", "stages"]))
            }
        }
        if !seenStages { report(root, nil, "missing 'stages'") }
        return (name, clock, entries)
    }

    /// `--set stage.key=value` settings, each value read as YAML.
    mutating func readOverrides(_ overrides: [String], stages: Set<String>) -> [String: [String: YAMLNode]] {
        var overridden: [String: [String: YAMLNode]] = [:]
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), let dot = o[..<eq].firstIndex(of: ".") else {
                diagnostics.append(
                    Diagnostic(file: "--set", line: 0, column: 0, message: "'\(o)' is not stage.key=value"))
                continue
            }
            let stage = String(o[..<dot]), key = String(o[o.index(after: dot)..<eq])
            let raw = String(o[o.index(after: eq)...])
            guard stages.contains(stage) else {
                diagnostics.append(
                    Diagnostic(file: "--set", line: 0, column: 0, stage: stage, message: "no such stage in \(file)"))
                continue
            }
            // Positions inside the override's own text would be misread as lines of the file.
            let node = ((try? YAMLNode.compose(raw)) ?? nil)?.withoutPositions
            overridden[stage, default: [:]][key] = node ?? YAMLNode(scalar: raw)
        }
        return overridden
    }

    /// One stage: its kind, its checked parameters (defaults filled), and its raw inputs.
    mutating func readStage(
        _ entry: StageEntry, overrides: [String: YAMLNode], inputs: inout [RawInput]
    ) -> PipelineGraph.StageNode? {
        let (sname, keyNode, settings) = entry
        let kinds = description.registry.kinds
        guard let kindNode = settings["kind"], let kindName = kindNode.string else {
            report(keyNode, sname, "missing 'kind' (one of: \(kinds.keys.sorted().joined(separator: ", ")))")
            return nil
        }
        guard let kind = kinds[kindName] else {
            report(
                kindNode, sname,
                "unknown kind '\(kindName)'" + PipelineDescription.suggestion(kindName, Array(kinds.keys)))
            return nil
        }
        var given: [String: YAMLNode] = [:]
        let firstInput = inputs.count
        for (pk, pv) in settings.mapping ?? [] {
            guard let key = pk.string, key != "kind" else { continue }
            if key == "inputs" {
                readInputs(pv, stage: sname, kind: kind, into: &inputs)
            } else {
                given[key] = pv
            }
        }
        // Every required input port is written (whether its source resolves is readEdge's).
        for port in kind.inputs where port.required && !inputs[firstInput...].contains(where: { $0.port == port.name })
        {
            report(keyNode, sname, "input '\(port.name)' (\(port.type)) is not connected")
        }
        for (key, node) in overrides { given[key] = node }
        var values: [String: ParameterValue] = [:]
        for (key, node) in given {
            guard let spec = kind.parameters.first(where: { $0.name == key }) else {
                report(
                    node, sname,
                    "unknown parameter '\(key)' for kind '\(kindName)'"
                        + PipelineDescription.suggestion(key, kind.parameters.map(\.name)))
                continue
            }
            switch PipelineDescription.convert(node, spec.type) {
            case .success(let v): values[key] = v
            case .failure(let problem): report(node, sname, "parameter '\(key)': \(problem)")
            }
        }
        for spec in kind.parameters where values[spec.name] == nil && given[spec.name] == nil {
            if let d = spec.defaultValue {
                values[spec.name] = d
            } else if spec.required {
                report(keyNode, sname, "missing required parameter '\(spec.name)' (\(spec.type.name)): \(spec.help)")
            }
        }
        return PipelineGraph.StageNode(name: sname, kind: kind, parameters: Parameters(values))
    }

    /// A stage's `inputs` mapping: port names checked against its kind.
    mutating func readInputs(_ node: YAMLNode, stage: String, kind: StageKind, into inputs: inout [RawInput]) {
        guard let im = node.mapping else {
            report(node, stage, "'inputs' must map input ports to 'stage.port'")
            return
        }
        for (ik, iv) in im {
            guard let port = ik.string else { continue }
            guard kind.inputs.contains(where: { $0.name == port }) else {
                report(
                    ik, stage,
                    "kind '\(kind.name)' has no input '\(port)'"
                        + PipelineDescription.suggestion(port, kind.inputs.map(\.name))
                        + (kind.inputs.isEmpty ? " (it is a source)" : ""))
                continue
            }
            inputs.append((stage, port, iv, ik))
        }
    }

    /// One input as an edge: `from` resolved to a stage's output of the same port type.
    mutating func readEdge(
        _ input: RawInput, stages: [PipelineGraph.StageNode], byName: [String: Int]
    ) -> PipelineGraph.Edge? {
        var from: String?
        var capacity = PipelineDescription.defaultCapacity
        var policy = OverflowPolicy.block
        if let s = input.node.string {
            from = s
        } else if let m = input.node.mapping {
            for (ek, ev) in m {
                switch ek.string ?? "" {
                case "from": from = ev.string
                case "capacity":
                    if let c = ev.int, c >= 1 {
                        capacity = c
                    } else {
                        report(ev, input.stage, "input '\(input.port)': capacity must be an integer >= 1")
                    }
                case "policy":
                    if let p = ev.string.flatMap(OverflowPolicy.init(rawValue:)) {
                        policy = p
                    } else {
                        report(
                            ev, input.stage,
                            "input '\(input.port)': policy must be one of block, drop-oldest, drop-newest")
                    }
                default:
                    report(
                        ek, input.stage,
                        "input '\(input.port)': unknown key '\(ek.string ?? "?")' (expected from, capacity, policy)")
                }
            }
        }
        guard let from else {
            report(input.node, input.stage, "input '\(input.port)': missing 'from: stage.port'")
            return nil
        }
        let parts = from.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty }), parts.count <= 2 else {
            report(input.node, input.stage, "input '\(input.port)': '\(from)' is not 'stage' or 'stage.port'")
            return nil
        }
        guard let sourceIndex = byName[parts[0]] else {
            report(
                input.node, input.stage,
                "input '\(input.port)' refers to unknown stage '\(parts[0])'"
                    + PipelineDescription.suggestion(parts[0], Array(byName.keys)))
            return nil
        }
        let source = stages[sourceIndex].kind
        let fromPort: String
        if parts.count == 2 {
            fromPort = parts[1]
        } else if source.outputs.count == 1 {
            fromPort = source.outputs[0].name
        } else {
            let names = source.outputs.map { "\(parts[0]).\($0.name)" }.joined(separator: ", ")
            report(
                input.node, input.stage,
                "input '\(input.port)': stage '\(parts[0])' has several outputs; name one (\(names))")
            return nil
        }
        guard let out = source.outputs.first(where: { $0.name == fromPort }) else {
            report(
                input.node, input.stage,
                "stage '\(parts[0])' has no output '\(fromPort)'"
                    + PipelineDescription.suggestion(fromPort, source.outputs.map(\.name)))
            return nil
        }
        guard let target = byName[input.stage],
            let inSpec = stages[target].kind.inputs.first(where: { $0.name == input.port })
        else { return nil }
        guard out.type == inSpec.type else {
            report(
                input.node, input.stage,
                "input '\(input.port)' takes \(inSpec.type) but '\(parts[0]).\(fromPort)' produces \(out.type)")
            return nil
        }
        return PipelineGraph.Edge(
            fromStage: parts[0], fromPort: fromPort, toStage: input.stage, toPort: input.port, capacity: capacity,
            policy: policy)
    }

}
