import Foundation

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
        let hasNUL = data.withUnsafeBytes { b in b.baseAddress.map { memchr($0, 0, b.count) != nil } ?? false }
        guard !hasNUL, let text = String(data: data, encoding: .utf8) else {
            throw .invalid([
                Diagnostic(file: path, line: 0, column: 0, message: "not UTF-8 text (a binary file?); expected YAML")
            ])
        }
        return try parse(text: text, file: path, overrides: overrides)
    }

    /// Validates description text; `file` names it in diagnostics.
    public func parse(text: String, file: String, overrides: [String] = []) throws(PipelineError) -> PipelineGraph {
        var parser = DescriptionParser(description: self, file: file)
        return try parser.parse(text: text, overrides: overrides)
    }

    func parseClock(_ node: YAMLNode, report: (YAMLNode?, String) -> Void) -> ClockSettings {
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

    static func convert(_ node: YAMLNode, _ type: ParameterType) -> Result<ParameterValue, ConversionProblem> {
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
            guard let v = node.string else { return .failure(.init("expected a string")) }
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

    /// A cycle among the edges (as stage names, first repeated at the end), or nil. Iterative
    /// depth-first search over adjacency lists: linear in stages + edges, no recursion.
    /// `index` gives each name's position in `names`.
    static func findCycle(_ names: [String], _ edges: [PipelineGraph.Edge], index: [String: Int]) -> [String]? {
        // Depth-first search over stage indices (strings are hashed once, not per step).
        var next = [[Int]](repeating: [], count: names.count)
        for e in edges {
            if let from = index[e.fromStage], let to = index[e.toStage] { next[from].append(to) }
        }
        var state = [UInt8](repeating: 0, count: names.count)  // 1 on the current path, 2 done
        for root in names.indices where state[root] == 0 {
            var path: [(node: Int, nextChild: Int)] = [(root, 0)]
            state[root] = 1
            while let top = path.last {
                let children = next[top.node]
                if top.nextChild < children.count {
                    path[path.count - 1].nextChild += 1
                    let child = children[top.nextChild]
                    if state[child] == 1, let start = path.firstIndex(where: { $0.node == child }) {
                        return path[start...].map { names[$0.node] } + [names[child]]
                    }
                    if state[child] == 0 {
                        state[child] = 1
                        path.append((child, 0))
                    }
                } else {
                    state[top.node] = 2
                    path.removeLast()
                }
            }
        }
        return nil
    }
}
