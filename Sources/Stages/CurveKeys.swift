import Foundation
import ZeroMQ

/// CurveZMQ key files: `NAME.pub` holds a public key, `NAME.key` a secret key, each one
/// 40-character Z85 line (`spkdeblur keys NAME` writes a pair).
public enum CurveKeys {
    /// Reads one key from `path` (surrounding whitespace ignored).
    public static func read(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StageError("\(path): cannot read the CURVE key file")
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Curve.decode(key) != nil else {
            throw StageError("\(path): not a CURVE key (one 40-character Z85 line expected)")
        }
        return key
    }

    /// Every `*.pub` key in `folder`: the clients a server accepts.
    public static func allowed(in folder: String) throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            throw StageError("\(folder): cannot list the folder of allowed CURVE client keys")
        }
        return try names.filter { $0.hasSuffix(".pub") }.sorted().map {
            try read(URL(fileURLWithPath: folder).appendingPathComponent($0).path)
        }
    }

    /// Writes a new pair: `base.pub` (readable) and `base.key` (owner only), each written
    /// under a temporary name and renamed.
    public static func writePair(base: String) throws -> (publicPath: String, secretPath: String) {
        let pair = try Curve.keyPair()
        let pub = base + ".pub", key = base + ".key"
        try write(pair.publicKey + "\n", to: pub, mode: 0o644)
        try write(pair.secretKey + "\n", to: key, mode: 0o600)
        return (pub, key)
    }

    private static func write(_ text: String, to path: String, mode: Int) throws {
        let temporary = path + ".partial-\(UUID().uuidString)"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        else { throw StageError("\(path): cannot write the key file") }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw StageError("\(path): cannot write the key file: \(String(cString: strerror(errno)))")
        }
    }
}
