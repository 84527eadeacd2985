import CallbotCore
import Foundation
import Testing

@testable import Telephony

/// RFC 4475's torture messages, each through a fresh user agent over UDP: the answer must be
/// the one `Tests/Fixtures/torture/expected.tsv` gives (RFC 4475 names what a UAS should do).
@Suite struct TortureTests {
    static let folder =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
        + "/Fixtures/torture/"

    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let expected: Set<String>
        var description: String { name }
    }

    static let cases: [Case] = {
        let text = (try? String(contentsOfFile: folder + "expected.tsv", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: "\t")
            return Case(name: String(fields[0]), expected: Set(fields[2].split(separator: " ").map(String.init)))
        }
    }()

    /// What the agent answers: the first response's status, "accept" for 1xx/2xx, "ignore" for nothing.
    static func answer(to bytes: [UInt8]) -> String {
        var agent = SIPUserAgent(
            settings: SIPSettings(publicAddress: SIPAddress(host: "127.0.0.1", port: 5070), answerDelay: 0))
        let effects = agent.receive(bytes, from: SIPAddress(host: "127.0.0.1", port: 5061), now: 0)
        let statuses = effects.compactMap { effect -> Int? in
            guard case .send(let message, _) = effect, case .response(let status, _) = message.startLine else {
                return nil
            }
            return status
        }
        guard let first = statuses.first else { return "ignore" }
        return first < 300 ? "accept" : String(first)
    }

    @Test func theCorpusIsComplete() {
        #expect(Self.cases.count == 49)
    }

    @Test(arguments: cases) func eachMessageGetsTheAnswerTheRFCAsks(_ torture: Case) throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.folder + torture.name + ".sip"))
        let answer = Self.answer(to: Array(bytes))
        #expect(torture.expected.contains(answer), "\(torture.name): \(answer), expected \(torture.expected.sorted())")
    }
}
