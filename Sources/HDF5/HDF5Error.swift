internal import CHDF5
import Foundation

/// A failed HDF5 call: what was attempted, on which object, and HDF5's own explanation.
///
/// The message is read from HDF5's error stack (`H5Ewalk2`); automatic printing of that stack
/// to stderr (`H5Eset_auto2`) is turned off by this module.
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    /// The operation that failed, e.g. `"open file"` or `"write chunk"`.
    public let operation: String
    /// The object it acted on: a file path, or `file:/object/path`.
    public let object: String
    /// HDF5's innermost message: the cause (empty when the stack was empty).
    public let message: String
    /// HDF5's whole error stack, outermost first, `function: message` per entry.
    public let stack: [String]

    /// Creates an error from its parts.
    public init(operation: String, object: String, message: String, stack: [String] = []) {
        self.operation = operation
        self.object = object
        self.message = message
        self.stack = stack
    }

    /// One line: the operation, the object and the innermost cause; with the environment
    /// variable `SPKDEBLUR_VERBOSE=1`, followed by HDF5's whole stack (``verboseDescription``).
    public var description: String {
        ProcessInfo.processInfo.environment["SPKDEBLUR_VERBOSE"] == "1" ? verboseDescription : summary
    }

    /// The one-line form, whatever the environment says.
    public var summary: String {
        message.isEmpty
            ? "HDF5: \(operation) failed for \(object)"
            : "HDF5: \(operation) failed for \(object): \(message)"
    }

    /// The summary followed by the whole stack, one entry a line.
    public var verboseDescription: String {
        ([summary] + stack.map { "  " + $0 }).joined(separator: "\n")
    }
}

/// Process-wide library set-up and the one place where return codes become errors.
enum Library {
    /// Opens the library and turns off automatic error printing for the calling thread.
    ///
    /// The Debian build is thread-safe, where the auto-print setting is per thread, so every
    /// wrapper operation calls this before touching HDF5 (it is cheap).
    static func prepare() {
        _ = H5open()
        _ = H5Eset_auto2(chdf5_e_default(), nil, nil)
        // Successful calls can leave entries behind (an optional filter that is not
        // registered); clear them so they are neither reported later nor leaked by threads.
        _ = H5Eclear2(chdf5_e_default())
    }

    /// Walks the calling thread's error stack (outermost first, `function: message`, one
    /// line each, duplicates dropped) and clears it.
    static func stackEntries() -> [(function: String, message: String)] {
        final class Lines { var items: [String] = [] }
        let lines = Lines()
        withExtendedLifetime(lines) {
            let raw = Unmanaged.passUnretained(lines).toOpaque()
            _ = H5Ewalk2(
                chdf5_e_default(), H5E_WALK_DOWNWARD,
                { _, entry, data in
                    guard let entry, let data else { return 0 }
                    let box = Unmanaged<Lines>.fromOpaque(data).takeUnretainedValue()
                    // Keep messages on one line and drop the time stamp some of them carry.
                    let desc = (entry.pointee.desc.map { String(cString: $0) } ?? "")
                        .replacing(/time = [^\n]*\n?,? ?/, with: "")
                        .replacing(/\s*\n\s*/, with: " ")
                    let fn = entry.pointee.func_name.map { String(cString: $0) } ?? "?"
                    if !desc.isEmpty { box.items.append(fn + "\u{1F}" + desc) }
                    return 0
                }, raw)
        }
        _ = H5Eclear2(chdf5_e_default())
        var seen = Set<String>()
        return lines.items.filter { seen.insert($0).inserted }.map { item in
            let parts = item.split(separator: "\u{1F}", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    /// Turns a negative `herr_t` / `htri_t` / `hid_t` into an ``HDF5Error``.
    @discardableResult
    static func check<T: BinaryInteger>(
        _ code: T, _ operation: @autoclosure () -> String, _ object: @autoclosure () -> String
    ) throws(HDF5Error) -> T {
        if code < 0 {
            let entries = stackEntries()
            throw HDF5Error(
                operation: operation(), object: object(), message: entries.last?.message ?? "",
                stack: entries.map { "\($0.function): \($0.message)" })
        }
        return code
    }
}
