import Foundation
import TestSupport
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

/// Runs the binary (in `directory`, default this process's); returns exit status, standard
/// output and standard error.
func run(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, out: String, err: String) {
    let r = try runProcess(try spkdeblurBinary(), arguments, in: directory)
    return (r.status, r.out, r.err)
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
    (try? Python.run("import " + modules.joined(separator: ", "))) != nil
}

/// Runs a Python snippet; returns its exit status and output.
func python(_ code: String, _ arguments: [String] = []) throws -> (status: Int32, out: String, err: String) {
    let r = try Python.process(["-c", code] + arguments)
    return (r.status, r.out, r.err)
}
