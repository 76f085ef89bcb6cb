import Foundation
import Yams

/// A validated pipeline: stages with resolved parameters, edges, clock settings.
public struct PipelineGraph: Sendable {
    /// One stage.
    public struct StageNode: Sendable {
        public var name: String
        public var kind: StageKind
        public var parameters: Parameters
    }
    /// One connection.
    public struct Edge: Sendable, Equatable {
        public var fromStage: String
        public var fromPort: String
        public var toStage: String
        public var toPort: String
        public var capacity: Int
        public var policy: OverflowPolicy
        /// `from.port->to.port`.
        public var name: String { "\(fromStage).\(fromPort)->\(toStage).\(toPort)" }
    }
    public var name: String
    public var stages: [StageNode]
    public var edges: [Edge]
    public var clock: ClockSettings
    /// The description file's text.
    public var text: String
    /// The file's path.
    public var file: String
}

/// Parses and validates pipeline description files (YAML).
///
/// ```yaml
/// pipeline: demo
/// clock: {speed: max}            # or a factor: 1.0 real time, 0.25, 4; start/duration in s
/// stages:
///   spikes: {kind: spike-file, path: rec.dat, height: 250, width: 400}
///   sink:
///     kind: hdf5-sink
///     inputs: {frames: {from: deblur.frames, capacity: 4, policy: drop-oldest}}
/// ```
/// Every problem is reported, each as `FILE:LINE:COLUMN: stage 'x': problem`.
public struct PipelineDescription {
    /// Default capacity of an edge.
    public static let defaultCapacity = 8

    let registry: StageRegistry

    /// Creates a parser for the kinds of `registry`.
    public init(registry: StageRegistry) { self.registry = registry }

    /// Reads, overrides and validates a description file.
    /// - Parameters:
    ///   - overrides: `stage.key=value` settings applied before validation (the value is read
    ///     as YAML, so `4`, `max`, `true`, `[1, 2]` work).
    /// - Throws: ``PipelineError/invalid(_:)`` with every problem found.
    public func load(path: String, overrides: [String] = []) throws(PipelineError) -> PipelineGraph {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw .invalid([
                Diagnostic(file: path, line: 0, column: 0, message: "cannot read: \(String(cString: strerror(errno)))")
            ])
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw .invalid([Diagnostic(file: path, line: 0, column: 0, message: "not a regular file")])
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            let reason = (error as NSError).localizedFailureReason ?? error.localizedDescription
            throw .invalid([Diagnostic(file: path, line: 0, column: 0, message: "cannot read: \(reason)")])
        }
        guard let text = String(data: data, encoding: .utf8), !text.contains("\u{0}") else {
            throw .invalid([
                Diagnostic(file: path, line: 0, column: 0, message: "not UTF-8 text (a binary file?); expected YAML")
            ])
        }
        return try parse(text: text, file: path, overrides: overrides)
    }

    /// Validates description text; `file` names it in diagnostics.
    public func parse(text: String, file: String, overrides: [String] = []) throws(PipelineError) -> PipelineGraph {
        var diagnostics: [Diagnostic] = []
        func report(_ node: Node?, _ stage: String?, _ message: String) {
            let mark = node?.mark
            diagnostics.append(
                Diagnostic(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, stage: stage, message: message)
            )
        }
        let root: Node
        do {
            guard let parsed = try Yams.compose(yaml: text) else {
                throw PipelineError.invalid([Diagnostic(file: file, line: 0, column: 0, message: "the file is empty")])
            }
            root = parsed
        } catch let e as PipelineError {
            throw e
        } catch let e as YamlError {
            throw .invalid([Self.diagnostic(for: e, file: file)])
        } catch {
            throw .invalid([Diagnostic(file: file, line: 0, column: 0, message: "not valid YAML: \(error)")])
        }
        guard let top = root.mapping else {
            throw .invalid([
                Diagnostic(
                    file: file, line: root.mark?.line ?? 0, column: root.mark?.column ?? 0,
                    message: "the top level must be a mapping with 'stages'")
            ])
        }
        var name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var clock = ClockSettings()
        var stageEntries: [(String, Node, Node.Mapping)] = []
        for (k, v) in top {
            switch k.string ?? "" {
            case "pipeline":
                name = v.string ?? name
            case "clock":
                clock = parseClock(v, report: { report($0, nil, $1) })
            case "stages":
                guard let m = v.mapping else {
                    report(v, nil, "'stages' must be a mapping of stage name to settings"); continue
                }
                for (sk, sv) in m {
                    guard let sname = sk.string, let sm = sv.mapping else {
                        report(sv, sk.string, "a stage must be a mapping with 'kind'")
                        continue
                    }
                    stageEntries.append((sname, sk, sm))
                }
            default:
                report(
                    k, nil,
                    "unknown top-level key '\(k.string ?? "?")' (expected pipeline, clock, stages)"
                        + Self.suggestion(k.string ?? "", ["pipeline", "clock", "stages"]))
            }
        }
        if stageEntries.isEmpty && !top.keys.contains(where: { $0.string == "stages" }) {
            report(root, nil, "missing 'stages'")
        }
        // Overrides.
        var overridden: [String: [String: Node]] = [:]
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), let dot = o[..<eq].firstIndex(of: ".") else {
                diagnostics.append(
                    Diagnostic(file: "--set", line: 0, column: 0, message: "'\(o)' is not stage.key=value"))
                continue
            }
            let stage = String(o[..<dot]), key = String(o[o.index(after: dot)..<eq]),
                raw = String(o[o.index(after: eq)...])
            guard stageEntries.contains(where: { $0.0 == stage }) else {
                diagnostics.append(
                    Diagnostic(file: "--set", line: 0, column: 0, stage: stage, message: "no such stage in \(file)"))
                continue
            }
            let node = (try? Yams.compose(yaml: raw)) ?? nil
            overridden[stage, default: [:]][key] = node ?? Node(raw)
        }
        // Stages.
        var stages: [PipelineGraph.StageNode] = []
        var rawInputs: [(stage: String, port: String, node: Node, keyNode: Node)] = []
        let kinds = registry.kinds
        for (sname, keyNode, settings) in stageEntries {
            guard let kindNode = settings["kind"], let kindName = kindNode.string else {
                report(keyNode, sname, "missing 'kind' (one of: \(kinds.keys.sorted().joined(separator: ", ")))")
                continue
            }
            guard let kind = kinds[kindName] else {
                report(kindNode, sname, "unknown kind '\(kindName)'" + Self.suggestion(kindName, Array(kinds.keys)))
                continue
            }
            var values: [String: ParameterValue] = [:]
            var given: [String: Node] = [:]
            for (pk, pv) in settings {
                guard let key = pk.string else { continue }
                if key == "kind" { continue }
                if key == "inputs" {
                    guard let im = pv.mapping else {
                        report(pv, sname, "'inputs' must map input ports to 'stage.port'"); continue
                    }
                    for (ik, iv) in im {
                        guard let port = ik.string else { continue }
                        if !kind.inputs.contains(where: { $0.name == port }) {
                            report(
                                ik, sname,
                                "kind '\(kindName)' has no input '\(port)'"
                                    + Self.suggestion(port, kind.inputs.map(\.name))
                                    + (kind.inputs.isEmpty ? " (it is a source)" : ""))
                            continue
                        }
                        rawInputs.append((sname, port, iv, ik))
                    }
                    continue
                }
                given[key] = pv
            }
            for (key, node) in overridden[sname] ?? [:] { given[key] = node }
            for (key, node) in given {
                guard let spec = kind.parameters.first(where: { $0.name == key }) else {
                    report(
                        node, sname,
                        "unknown parameter '\(key)' for kind '\(kindName)'"
                            + Self.suggestion(key, kind.parameters.map(\.name)))
                    continue
                }
                switch Self.convert(node, spec.type) {
                case .success(let v): values[key] = v
                case .failure(let problem): report(node, sname, "parameter '\(key)': \(problem)")
                }
            }
            for spec in kind.parameters where values[spec.name] == nil && given[spec.name] == nil {
                if let d = spec.defaultValue {
                    values[spec.name] = d
                } else if spec.required {
                    report(
                        keyNode, sname, "missing required parameter '\(spec.name)' (\(spec.type.name)): \(spec.help)")
                }
            }
            stages.append(PipelineGraph.StageNode(name: sname, kind: kind, parameters: Parameters(values)))
        }
        // Edges.
        var edges: [PipelineGraph.Edge] = []
        let byName = Dictionary(stages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for input in rawInputs {
            var from: String?
            var capacity = Self.defaultCapacity
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
                            "input '\(input.port)': unknown key '\(ek.string ?? "?")' (expected from, capacity, policy)"
                        )
                    }
                }
            }
            guard let from else {
                report(input.node, input.stage, "input '\(input.port)': missing 'from: stage.port'"); continue
            }
            let parts = from.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.allSatisfy({ !$0.isEmpty }), parts.count <= 2 else {
                report(input.node, input.stage, "input '\(input.port)': '\(from)' is not 'stage' or 'stage.port'")
                continue
            }
            guard let source = byName[parts[0]] else {
                report(
                    input.node, input.stage,
                    "input '\(input.port)' refers to unknown stage '\(parts[0])'"
                        + Self.suggestion(parts[0], Array(byName.keys)))
                continue
            }
            let fromPort: String
            if parts.count == 2 {
                fromPort = parts[1]
            } else if source.kind.outputs.count == 1 {
                fromPort = source.kind.outputs[0].name
            } else {
                report(
                    input.node, input.stage,
                    "input '\(input.port)': stage '\(parts[0])' has several outputs; name one (\(source.kind.outputs.map { "\(parts[0]).\($0.name)" }.joined(separator: ", ")))"
                )
                continue
            }
            guard let out = source.kind.outputs.first(where: { $0.name == fromPort }) else {
                report(
                    input.node, input.stage,
                    "stage '\(parts[0])' has no output '\(fromPort)'"
                        + Self.suggestion(fromPort, source.kind.outputs.map(\.name)))
                continue
            }
            guard let target = byName[input.stage],
                let inSpec = target.kind.inputs.first(where: { $0.name == input.port })
            else { continue }
            if out.type != inSpec.type {
                report(
                    input.node, input.stage,
                    "input '\(input.port)' takes \(inSpec.type) but '\(parts[0]).\(fromPort)' produces \(out.type)")
                continue
            }
            edges.append(
                PipelineGraph.Edge(
                    fromStage: parts[0], fromPort: fromPort, toStage: input.stage, toPort: input.port,
                    capacity: capacity, policy: policy))
        }
        for s in stages {
            for p in s.kind.inputs
            where p.required && !edges.contains(where: { $0.toStage == s.name && $0.toPort == p.name })
                && !rawInputs.contains(where: { $0.stage == s.name && $0.port == p.name })
            {
                let node = stageEntries.first { $0.0 == s.name }?.1
                report(node, s.name, "input '\(p.name)' (\(p.type)) is not connected")
            }
        }
        // Cycles.
        if let cycle = Self.findCycle(stages.map(\.name), edges) {
            let node = stageEntries.first { $0.0 == cycle[0] }?.1
            report(node, cycle[0], "the pipeline has a cycle: \(cycle.joined(separator: " -> "))")
        }
        if !diagnostics.isEmpty {
            throw .invalid(diagnostics.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) })
        }
        return PipelineGraph(name: name, stages: stages, edges: edges, clock: clock, text: text, file: file)
    }

    func parseClock(_ node: Node, report: (Node?, String) -> Void) -> ClockSettings {
        var c = ClockSettings()
        guard let m = node.mapping else {
            report(node, "'clock' must be a mapping (speed, start, duration, live)"); return c
        }
        for (k, v) in m {
            switch k.string ?? "" {
            case "speed":
                switch Self.convert(v, .speed) {
                case .success(.max): c.speed = nil
                case .success(.double(let s)):
                    if let problem = ClockSettings.speedProblem(s) {
                        report(v, "clock \(problem)")
                    } else {
                        c.speed = s
                    }
                default: report(v, "clock speed must be a number in 0.001...1000 or max")
                }
            case "start":
                if let s = v.float, ClockSettings.startProblem(s) == nil {
                    c.start = s
                } else {
                    report(v, "clock start must be a number of seconds in 0...1000000")
                }
            case "duration":
                if let s = v.float, ClockSettings.durationProblem(s) == nil {
                    c.duration = s
                } else {
                    report(v, "clock duration must be a number of seconds in (0, 1000000]")
                }
            case "live":
                if let b = v.bool { c.live = b } else { report(v, "clock live must be true or false") }
            default:
                report(k, "unknown clock setting '\(k.string ?? "?")' (expected speed, start, duration, live)")
            }
        }
        return c
    }

    static func convert(_ node: Node, _ type: ParameterType) -> Result<ParameterValue, ConversionProblem> {
        switch type {
        case .int(let range):
            guard let v = node.int else { return .failure(.init("expected an integer, got '\(node.any)'")) }
            if let range, !range.contains(v) {
                return .failure(.init("\(v) is outside \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(.int(v))
        case .double(let range):
            guard let v = node.float else { return .failure(.init("expected a number, got '\(node.any)'")) }
            if let range, !range.contains(v) {
                return .failure(.init("\(v) is outside \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(.double(v))
        case .bool:
            guard let v = node.bool else { return .failure(.init("expected true or false, got '\(node.any)'")) }
            return .success(.bool(v))
        case .string, .path:
            guard let v = node.string, node.scalar != nil else { return .failure(.init("expected a string")) }
            return .success(.string(v))
        case .choice(let options):
            guard let v = node.string, options.contains(v) else {
                return .failure(.init("expected one of \(options.joined(separator: ", ")), got '\(node.any)'"))
            }
            return .success(.string(v))
        case .doubleList(let count):
            guard let seq = node.sequence else { return .failure(.init("expected a list of numbers")) }
            let values = seq.compactMap(\.float)
            guard values.count == seq.count else { return .failure(.init("expected a list of numbers")) }
            guard values.allSatisfy(\.isFinite) else {
                return .failure(.init("expected finite numbers, got \(values)"))
            }
            if let count, values.count != count {
                return .failure(.init("expected \(count) numbers, got \(values.count)"))
            }
            return .success(.doubles(values))
        case .speed:
            if node.string == "max" { return .success(.max) }
            guard let v = node.float, v > 0 else {
                return .failure(.init("expected a number > 0 or max, got '\(node.any)'"))
            }
            return .success(.double(v))
        }
    }

    struct ConversionProblem: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return Diagnostic(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        default:
            // Other Yams errors (duplicate keys, ...) carry the whole document after their
            // first line: keep the first.
            let first = "\(error)".split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            return Diagnostic(file: file, line: 0, column: 0, message: "not valid YAML: \(first)")
        }
    }

    static func suggestion(_ word: String, _ candidates: [String]) -> String {
        func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a), b = Array(b)
            var row = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var prev = row[0]
                row[0] = i
                for j in 1...max(b.count, 1) where !b.isEmpty {
                    let cur = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                    prev = cur
                }
            }
            return row[b.count]
        }
        guard let best = candidates.min(by: { distance(word, $0) < distance(word, $1) }),
            distance(word, best) <= max(2, word.count / 3)
        else { return "" }
        return " (did you mean '\(best)'?)"
    }

    static func findCycle(_ names: [String], _ edges: [PipelineGraph.Edge]) -> [String]? {
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var stack: [String] = []
        func visit(_ n: String) -> [String]? {
            state[n] = 1
            stack.append(n)
            for e in edges where e.fromStage == n {
                if state[e.toStage] == 1, let start = stack.firstIndex(of: e.toStage) {
                    return Array(stack[start...]) + [e.toStage]
                }
                if state[e.toStage] == nil, let c = visit(e.toStage) { return c }
            }
            stack.removeLast()
            state[n] = 2
            return nil
        }
        for n in names where state[n] == nil { if let c = visit(n) { return c } }
        return nil
    }
}

extension Node {
    var any: String { scalar?.string ?? (mapping != nil ? "a mapping" : "a list") }
}
