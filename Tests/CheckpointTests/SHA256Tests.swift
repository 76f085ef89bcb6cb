import Foundation
import Testing

@testable import Checkpoint

@Suite struct SHA256Tests {
    func hex(_ digest: [UInt8]) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    /// FIPS 180-4 example vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func knownVectors(input: String, digest: String) {
        #expect(hex(SHA256.hash(Array(input.utf8))) == digest)
    }

    @Test func staticHelpersAgreeWithTheHasher() {
        let thousand = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        #expect(SHA256.hex(of: thousand) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        #expect(SHA256.digest(of: thousand) == SHA256.hash(thousand))
    }

    @Test func millionAs() {
        var h = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { h.update(chunk) }
        #expect(hex(h.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func incrementalUpdatesMatchOneShotAcrossBlockBoundaries() {
        let data = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let whole = SHA256.hash(data)
        for split in [1, 55, 56, 63, 64, 65, 128, 299] {
            var h = SHA256()
            h.update(data[..<split])
            h.update(AnySequence(data[split...]))  // the non-contiguous path
            #expect(h.finalize() == whole, "split at \(split)")
        }
    }

    @Test(.enabled(if: pythonHas("hashlib"), "python3 with hashlib is needed"))
    func fileDigestMatchesHashlib() throws {
        for name in ["tiny.pth", "tiny.weights.safetensors"] {
            let url = try fixtureURL(name)
            let result = try runPython(
                "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
                arguments: [url.path])
            #expect(result.status == 0)
            #expect(try StateDict.sha256(of: url) == result.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(throws: CheckpointError.self) {
            try StateDict.sha256(of: URL(fileURLWithPath: "/nonexistent/file.pth"))
        }
    }
}
