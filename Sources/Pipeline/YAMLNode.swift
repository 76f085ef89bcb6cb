import CYaml
import Yams

/// A node of a pipeline description: a YAML scalar (its text), mapping (its pairs in file
/// order) or sequence, with the line and column where it starts (1-based).
///
/// The description reader composes these from libyaml's events itself (``compose(_:)``)
/// rather than through Yams' `Node`: Yams resolves every scalar's tag with regular
/// expressions and hashes whole nodes for its duplicate-key check, which made validating a
/// 60,000-stage file take 1.9-5.8 s. Here scalars stay text until a parameter's type reads
/// them (with Yams' YAML 1.1 constructors, so `0x10`, `1_000`, `.inf` and `yes` read as
/// before), and duplicate keys are found with one set of strings per mapping.
struct YAMLNode: Sendable {
    enum Content: Sendable {
        case scalar(String)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    var content: Content
    var line: Int
    var column: Int

    init(_ content: Content, line: Int = 0, column: Int = 0) {
        self.content = content
        self.line = line
        self.column = column
    }

    /// A scalar, e.g. a `--set` value that is not YAML on its own.
    init(scalar: String) { self.init(.scalar(scalar)) }

    var string: String? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    /// A plain decimal integer is read directly; other YAML 1.1 forms by Yams' constructor.
    var int: Int? {
        guard let s = string else { return nil }
        if let v = Int(s) { return v }
        return Int.construct(from: Node.Scalar(s))
    }

    var float: Double? {
        guard let s = string else { return nil }
        if Self.isPlainNumber(s), let v = Double(s) { return v }
        return Double.construct(from: Node.Scalar(s))
    }

    var bool: Bool? {
        switch string {
        case "true": true
        case "false": false
        case let s?: Bool.construct(from: Node.Scalar(s))
        case nil: nil
        }
    }

    /// Digits with an optional sign, point and exponent: text that YAML and `Double(_:)` read
    /// alike (`Double` also takes `inf`, `nan` and hex, which YAML spells otherwise).
    private static func isPlainNumber(_ s: String) -> Bool {
        !s.isEmpty
            && s.utf8.allSatisfy { (48...57).contains($0) || $0 == 43 || $0 == 45 || $0 == 46 || $0 == 101 || $0 == 69 }
    }

    /// The value of the first pair whose key is the scalar `key`.
    subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.string == key }?.value
    }

    /// The same node with no line or column anywhere (for text that is not from the file).
    var withoutPositions: YAMLNode {
        switch content {
        case .scalar: YAMLNode(content)
        case .mapping(let pairs): YAMLNode(.mapping(pairs.map { ($0.key.withoutPositions, $0.value.withoutPositions) }))
        case .sequence(let items): YAMLNode(.sequence(items.map(\.withoutPositions)))
        }
    }

    /// What the node is, for messages: a scalar's text, or its kind.
    var any: String { string ?? (mapping != nil ? "a mapping" : "a list") }
}

/// Why a text is not a YAML document the reader accepts.
struct YAMLProblem: Error {
    var line: Int
    var column: Int
    var message: String
}

extension YAMLNode {
    /// The single document in `text` (nil when the text holds none).
    ///
    /// Iterative (an explicit stack, so nesting depth from the file cannot exhaust the thread
    /// stack); aliases are resolved to the anchored node; a key repeated in one mapping, a
    /// second document or an unknown alias is a ``YAMLProblem`` at its line and column.
    static func compose(_ text: String) throws(YAMLProblem) -> YAMLNode? {
        var bytes = Array(text.utf8)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLProblem(line: 0, column: 0, message: "out of memory")
        }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(YAMLProblem) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var composer = Composer()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let mark = parser.problem_mark
                    let problem = parser.problem.map { String(cString: $0) } ?? "unreadable YAML"
                    throw YAMLProblem(line: Int(mark.line) + 1, column: Int(mark.column) + 1, message: problem)
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return composer.root }
                try composer.take(event)
            }
        }
    }
}

/// Builds nodes from libyaml events: open collections on a stack, finished ones appended to
/// their parent.
private struct Composer {
    /// A mapping or sequence whose end has not come yet (a class, so that appending to a
    /// 60,000-entry mapping does not copy it each time).
    private final class Open {
        let isMapping: Bool
        let line: Int, column: Int
        let anchor: String?
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        var items: [YAMLNode] = []
        var key: YAMLNode?
        /// Key lines by key, built once a mapping has grown past a linear scan's worth.
        var keys: [String: Int]?

        init(isMapping: Bool, line: Int, column: Int, anchor: String?) {
            self.isMapping = isMapping
            self.line = line
            self.column = column
            self.anchor = anchor
        }
    }

    private var stack: [Open] = []
    private var anchors: [String: YAMLNode] = [:]
    private(set) var root: YAMLNode?
    private var documents = 0

    private static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int? = nil) -> String? {
        guard let pointer else { return nil }
        guard let length else { return String(cString: pointer) }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    mutating func take(_ event: yaml_event_t) throws(YAMLProblem) {
        let line = Int(event.start_mark.line) + 1, column = Int(event.start_mark.column) + 1
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw YAMLProblem(line: line, column: column, message: "expected a single document, found another")
            }
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let value = Self.text(s.value, length: Int(s.length)) ?? ""
            try add(YAMLNode(.scalar(value), line: line, column: column), anchor: Self.text(s.anchor))
        case YAML_ALIAS_EVENT:
            let name = Self.text(event.data.alias.anchor) ?? ""
            guard let node = anchors[name] else {
                throw YAMLProblem(line: line, column: column, message: "unknown alias '*\(name)'")
            }
            try add(YAMLNode(node.content, line: line, column: column), anchor: nil)
        case YAML_MAPPING_START_EVENT:
            let anchor = Self.text(event.data.mapping_start.anchor)
            stack.append(Open(isMapping: true, line: line, column: column, anchor: anchor))
        case YAML_SEQUENCE_START_EVENT:
            let anchor = Self.text(event.data.sequence_start.anchor)
            stack.append(Open(isMapping: false, line: line, column: column, anchor: anchor))
        case YAML_MAPPING_END_EVENT, YAML_SEQUENCE_END_EVENT:
            guard let open = stack.popLast() else { break }
            let content: YAMLNode.Content = open.isMapping ? .mapping(open.pairs) : .sequence(open.items)
            try add(YAMLNode(content, line: open.line, column: open.column), anchor: open.anchor)
        default:
            break
        }
    }

    /// A finished node: the root, the next item of the open sequence, or the open mapping's
    /// key or value.
    private mutating func add(_ node: YAMLNode, anchor: String?) throws(YAMLProblem) {
        if let anchor { anchors[anchor] = node }
        guard let open = stack.last else {
            root = node
            return
        }
        if !open.isMapping {
            open.items.append(node)
        } else if let key = open.key {
            open.pairs.append((key, node))
            open.key = nil
        } else {
            if let name = node.string {
                let first: Int?
                if open.keys == nil, open.pairs.count < 16 {
                    first = open.pairs.first { $0.key.string == name }?.key.line
                } else {
                    if open.keys == nil {
                        var keys: [String: Int] = [:]
                        for (k, _) in open.pairs { if let s = k.string, keys[s] == nil { keys[s] = k.line } }
                        open.keys = keys
                    }
                    first = open.keys?.updateValue(node.line, forKey: name)
                }
                if let first {
                    throw YAMLProblem(
                        line: node.line, column: node.column,
                        message: "duplicated key '\(name)' in this mapping (first on line \(first))")
                }
            }
            open.key = node
        }
    }
}
