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
        let cause = Self.conciseCause(message)
        return cause.isEmpty
            ? "HDF5: \(operation) failed for \(object)"
            : "HDF5: \(operation) failed for \(object): \(cause)"
    }

    /// HDF5's messages for failed system calls list the call's arguments (`file write failed:
    /// filename = '...', file descriptor = 4, errno = 28, error message = 'No space left on
    /// device', buf = ..., ...`); a user needs the call and the system's reason.
    static func conciseCause(_ message: String) -> String {
        guard let reason = message.firstMatch(of: /error message = '([^']*)'/)?.output.1,
            let call = message.split(separator: ":", maxSplits: 1).first
        else { return message }
        let errno = message.firstMatch(of: /errno = (\d+)/)?.output.1
        return "\(call): \(reason)" + (errno.map { " (errno \($0))" } ?? "")
    }

    /// The same error with `temporary` (a file written under a temporary name) replaced by
    /// `target`, the name the user gave, in its object and messages.
    public func naming(_ temporary: String, as target: String) -> HDF5Error {
        HDF5Error(
            operation: operation, object: object.replacing(temporary, with: target),
            message: message.replacing(temporary, with: target),
            stack: stack.map { $0.replacing(temporary, with: target) })
    }

    /// The summary followed by the whole stack, one entry a line.
    public var verboseDescription: String {
        ([summary] + stack.map { "  " + $0 }).joined(separator: "\n")
    }
}

/// Process-wide library set-up and the one place where return codes become errors.
enum Library {
    /// Opens the library once, without HDF5's exit handler: at exit that handler closes the
    /// files still open, and a file whose close already failed (a full disk) makes it crash
    /// (SIGSEGV in `H5F__close_cb`). Every file is closed explicitly; what could not be closed
    /// is given up as it is.
    private static let opened: Void = {
        _ = H5dont_atexit()
        _ = H5open()
    }()

    /// Opens the library and turns off automatic error printing for the calling thread.
    ///
    /// The Debian build is thread-safe, where the auto-print setting is per thread, so every
    /// wrapper operation calls this before touching HDF5 (it is cheap).
    static func prepare() {
        _ = opened
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
