/// Types of stage parameters.
public enum ParameterType: Sendable, Equatable {
    case int(ClosedRange<Int>?)
    case double(ClosedRange<Double>?)
    case bool
    case string
    /// A filesystem path (relative paths resolve against the description file's folder).
    case path
    case choice([String])
    case doubleList(count: Int?)
    /// A positive number, or `max`.
    case speed

    var name: String {
        switch self {
        case .int: "integer"
        case .double: "number"
        case .bool: "boolean"
        case .string: "string"
        case .path: "path"
        case .choice(let c): c.joined(separator: "|")
        case .doubleList(let n): n.map { "list of \($0) numbers" } ?? "list of numbers"
        case .speed: "number > 0 or max"
        }
    }
}

/// A typed parameter value.
public enum ParameterValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)
    case doubles([Double])
    /// No pacing.
    case max

    public var description: String {
        switch self {
        case .int(let v): "\(v)"
        case .double(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .string(let v): v
        case .doubles(let v): "\(v)"
        case .max: "max"
        }
    }
}

/// One parameter of a stage kind.
public struct ParameterSpec: Sendable {
    public let name: String
    public let type: ParameterType
    /// The default; nil for a required parameter.
    public let defaultValue: ParameterValue?
    /// Whether it may be left out with no default (an optional setting).
    public let optional: Bool
    public let help: String

    /// A parameter with a default (or, when `defaultValue` is nil and `optional` false, required).
    public init(
        _ name: String, _ type: ParameterType, default defaultValue: ParameterValue? = nil, optional: Bool = false,
        _ help: String
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.optional = optional
        self.help = help
    }

    var required: Bool { defaultValue == nil && !optional }
}

/// Resolved parameter values of one stage.
public struct Parameters: Sendable {
    /// Values by name (defaults filled in).
    public var values: [String: ParameterValue]

    /// Creates parameters.
    public init(_ values: [String: ParameterValue]) { self.values = values }

    public func int(_ name: String) -> Int? {
        if case .int(let v) = values[name] { return v }
        return nil
    }
    public func double(_ name: String) -> Double? {
        switch values[name] {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: return nil
        }
    }
    public func bool(_ name: String) -> Bool? {
        if case .bool(let v) = values[name] { return v }
        return nil
    }
    public func string(_ name: String) -> String? {
        if case .string(let v) = values[name] { return v }
        return nil
    }
    public func doubles(_ name: String) -> [Double]? {
        if case .doubles(let v) = values[name] { return v }
        return nil
    }
}

/// Everything a stage factory gets besides its parameters.
public struct StageEnvironment: Sendable {
    /// The description file's text (recorded into outputs).
    public var descriptionText: String
    /// The stage's name.
    public var stageName: String
    /// Global replay settings.
    public var clock: ClockSettings
}

/// A kind of stage: its parameters, its ports and how to build it.
public struct StageKind: Sendable {
    public let name: String
    public let summary: String
    public let parameters: [ParameterSpec]
    public let inputs: [PortSpec]
    public let outputs: [PortSpec]
    public let make: @Sendable (Parameters, StageEnvironment) throws -> any Stage

    public init(
        name: String, summary: String, parameters: [ParameterSpec], inputs: [PortSpec], outputs: [PortSpec],
        make: @escaping @Sendable (Parameters, StageEnvironment) throws -> any Stage
    ) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
        self.inputs = inputs
        self.outputs = outputs
        self.make = make
    }
}

/// The stage kinds a pipeline may use.
public struct StageRegistry: Sendable {
    /// Kinds by name.
    public private(set) var kinds: [String: StageKind] = [:]

    /// An empty registry.
    public init() {}

    /// Adds a kind.
    public mutating func register(_ kind: StageKind) { kinds[kind.name] = kind }

    /// `spkdeblur stages`: every kind with its ports and parameters.
    public func listing() -> String {
        var out: [String] = []
        for name in kinds.keys.sorted() {
            guard let k = kinds[name] else { continue }
            out.append("\(k.name): \(k.summary)")
            if !k.inputs.isEmpty {
                out.append("  inputs:  " + k.inputs.map { "\($0.name) (\($0.type))" }.joined(separator: ", "))
            }
            if !k.outputs.isEmpty {
                out.append("  outputs: " + k.outputs.map { "\($0.name) (\($0.type))" }.joined(separator: ", "))
            }
            for p in k.parameters {
                let def = p.defaultValue.map { " = \($0)" } ?? (p.optional ? " (optional)" : " (required)")
                out.append("  \(p.name): \(p.type.name)\(def) — \(p.help)")
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}

/// Global clock settings of a pipeline.
public struct ClockSettings: Sendable, Equatable {
    /// Accepted replay speeds (a factor of real time).
    public static let speedRange: ClosedRange<Double> = 0.001...1000
    /// Accepted start times and durations, seconds (about eleven days).
    public static let secondsRange: ClosedRange<Double> = 0...1_000_000

    /// The problem with a speed, or nil when it is usable (finite, in ``speedRange``).
    public static func speedProblem(_ v: Double) -> String? {
        speedRange.contains(v) ? nil : "speed \(v) must be a number in 0.001...1000 (or max)"
    }
    /// The problem with a start time, or nil.
    public static func startProblem(_ v: Double) -> String? {
        secondsRange.contains(v) ? nil : "start \(v) must be a number of seconds in 0...1000000"
    }
    /// The problem with a duration, or nil.
    public static func durationProblem(_ v: Double) -> String? {
        v > 0 && secondsRange.contains(v) ? nil : "duration \(v) must be a number of seconds in (0, 1000000]"
    }

    /// Replay speed factor; nil = as fast as possible.
    public var speed: Double?
    /// Media time to start at, seconds from the start of the recording.
    public var start: Double = 0
    /// Media duration to replay, seconds (nil = all).
    public var duration: Double?
    /// Live mode: sources are live feeds (windowing gives up after timeouts).
    public var live = false

    public init(speed: Double? = nil, start: Double = 0, duration: Double? = nil, live: Bool = false) {
        self.speed = speed
        self.start = start
        self.duration = duration
        self.live = live
    }
}
