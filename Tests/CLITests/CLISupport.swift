import Foundation
import Testing

/// The built `spkdeblur` executable, next to the test bundle in the build directory.
func spkdeblurBinary() throws -> URL {
    let candidates =
        [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL]
        + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
    let found = candidates.map { $0.appendingPathComponent("spkdeblur") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    return try #require(found, "spkdeblur executable not found next to the test bundle")
}

/// Runs the binary; returns exit status, standard output and standard error.
func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = try spkdeblurBinary()
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self)
    )
}

/// A fresh temporary directory.
func temporaryDirectory(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// A fixture of another test target, by path relative to `Tests/`.
func testsFixture(_ relative: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(relative)
}

/// Whether `python3` can import every module named.
func pythonHas(_ modules: String...) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import " + modules.joined(separator: ", ")]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// Runs a Python snippet; returns its exit status and output.
func python(_ code: String, _ arguments: [String] = []) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", code] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
