import Testing

@Test func placeholderWireProtocol() { #expect(Bool(true)) }
