import Foundation

/// Reads an image's size from its PNG header without decoding it (the dataset readers use
/// it to derive the spike geometry).
enum PNGHeader {
    /// `(width, height)` from the IHDR chunk.
    /// - Throws: `DatasetError.missingFile` or `.malformed` when it is not a PNG.
    static func size(of url: URL) throws(DatasetError) -> (width: Int, height: Int) {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw .missingFile(path: url.path, role: "image")
        }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 24))
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard head.count == 24, Array(head[0..<8]) == signature, Array(head[12..<16]) == Array("IHDR".utf8) else {
            throw .malformed(path: url.path, problem: "not a PNG file (no PNG signature and IHDR header)")
        }
        func bigEndian(_ at: Int) -> Int {
            head[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
        }
        return (bigEndian(16), bigEndian(20))
    }
}
