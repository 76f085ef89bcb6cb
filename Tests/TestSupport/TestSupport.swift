import Foundation

/// What a finished child process printed.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var out: String
    public var err: String
}

/// Runs a program to completion, reading its output before waiting so a full pipe cannot
/// block the child.
public func runProcess(_ executable: URL, _ arguments: [String], in directory: URL? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus, out: String(decoding: o, as: UTF8.self),
        err: String(decoding: e, as: UTF8.self))
}

/// Runs python3 scripts as the independent peer of the tests.
public enum Python {
    /// Whether `python3` can import every module in `modules`.
    public static func has(_ modules: String...) -> Bool {
        (try? run("import " + modules.joined(separator: ", "))) != nil
    }

    /// Runs python3 with raw arguments.
    public static func process(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments)
    }

    /// Runs `script` with `arguments` and returns stdout; throws with stderr on failure.
    @discardableResult
    public static func run(_ script: String, _ arguments: [String] = []) throws -> String {
        let r = try process(["-c", script] + arguments)
        guard r.status == 0 else { throw PythonFailure(message: r.err) }
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A failed script, with its standard error.
    public struct PythonFailure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "python3 failed: \(message)" }
    }
}

/// A fresh temporary directory, removed by `cleanup()`.
public struct TempDir {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("spkdeblur-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    public func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// The repository root (this file is Tests/TestSupport/TestSupport.swift).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A tiny filesystem of its own (tmpfs, mounted on a fresh folder) to fill up: a real
/// full disk for the write-error tests. Mounting needs root (or CAP_SYS_ADMIN).
public struct SmallDisk {
    public let url: URL

    /// Whether this process may mount one (tried once, with a 64 KiB disk).
    public static let available: Bool = {
        guard let disk = try? SmallDisk(bytes: 64 << 10) else { return false }
        disk.cleanup()
        return true
    }()

    public struct MountFailed: Error, CustomStringConvertible {
        public var description: String
    }

    public init(bytes: Int) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("spkdeblur-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let r = try runProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["mount", "-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", url.path])
        guard r.status == 0 else {
            try? FileManager.default.removeItem(at: url)
            throw MountFailed(description: "mount tmpfs failed: \(r.err)")
        }
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Every name in it, hidden ones too.
    public func names() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
    }

    public func cleanup() {
        _ = try? runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["umount", url.path])
        try? FileManager.default.removeItem(at: url)
    }
}

/// Ends a child process: SIGTERM, then SIGKILL after `grace` seconds if it is still running
/// (a child inherits ignored signals from the test process, so SIGTERM alone may not end a
/// peer), and waits for it.
public func stopProcess(_ process: Process, grace: TimeInterval = 5) {
    guard process.isRunning else { return }
    process.terminate()
    let deadline = Date().addingTimeInterval(grace)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}
