/// Errors of building or running the model; each description is one line.
public enum SpkDeblurNetError: Error, CustomStringConvertible, Sendable {
    /// The checkpoint does not fit the configuration: every missing key, unexpected key and
    /// shape mismatch is listed.
    case weightsMismatch(source: String, missing: [String], unexpected: [String], shapeMismatches: [String])
    /// A configuration value is invalid or unsupported.
    case invalidConfig(field: String, problem: String)
    /// An input tensor has the wrong shape.
    case invalidInput(name: String, problem: String)

    public var description: String {
        switch self {
        case .weightsMismatch(let source, let missing, let unexpected, let shapes):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing keys (\(missing.count)): " + Self.list(missing)) }
            if !unexpected.isEmpty { parts.append("unexpected keys (\(unexpected.count)): " + Self.list(unexpected)) }
            if !shapes.isEmpty { parts.append("shape mismatches (\(shapes.count)): " + Self.list(shapes)) }
            return "\(source): weights do not match the model config: " + parts.joined(separator: "; ")
        case .invalidConfig(let field, let problem):
            return "model config '\(field)': \(problem)"
        case .invalidInput(let name, let problem):
            return "model input '\(name)': \(problem)"
        }
    }

    static func list(_ items: [String]) -> String {
        items.count <= 12 ? items.joined(separator: ", ") : items.prefix(12).joined(separator: ", ") + ", ..."
    }
}
