import Testing

@Test func placeholderZeroMQ() { #expect(Bool(true)) }
