import CallRuntime
import CallbotCore
import Logging
import Synchronization
import Testing

/// Turn-taking on a call: keys collected into one answer, silences, barge-in, hang-ups and
/// transfer ends, as the line reports them to the inbox.
@Suite struct CallInboxTests {
    func inbox() -> (CallInbox, Speaker) {
        let speaker = Speaker()
        return (CallInbox(voice: speaker, logger: Logger(label: "test")), speaker)
    }

    @Test func keysEndAtTheCountOrAtTheHash() async {
        let (inbox, _) = inbox()
        for key in "4827" { await inbox.deliver(.key(key)) }
        #expect(name(await inbox.listen(ListenSpec(timeoutSeconds: 5, maxDigits: 2))) == "digits 48")
        #expect(name(await inbox.listen(ListenSpec(timeoutSeconds: 5, maxDigits: 2))) == "digits 27")
        for key in "12#" { await inbox.deliver(.key(key)) }
        #expect(name(await inbox.listen(ListenSpec(timeoutSeconds: 5, maxDigits: 6))) == "digits 12")
    }

    @Test func aSilentCallerIsASilenceAndAHangUpEndsTheWait() async {
        let (inbox, _) = inbox()
        #expect(name(await inbox.listen(ListenSpec(timeoutSeconds: 1, maxDigits: 1))) == "silence")
        await inbox.deliver(.hangUp)
        #expect(name(await inbox.listen(ListenSpec(timeoutSeconds: 30, maxDigits: 1))) == "hang up")
    }

    @Test func aKeyCutsAnInterruptiblePromptOnly() async {
        let (inbox, speaker) = inbox()
        await inbox.deliver(.key("1"))
        await inbox.play([0, 0], interruptible: true)
        #expect(speaker.played == 0, "a prompt the caller already answered is not played")
        await inbox.play([0, 0], interruptible: false)
        #expect(speaker.played == 1)
    }

    @Test func theTransferEndIsReadFromItsStatus() async {
        let (inbox, _) = inbox()
        await inbox.deliver(.transferFinished(486))
        #expect(name(await inbox.transferOutcome()) == "transfer busy")
    }
}

/// The events these tests expect, by name.
func name(_ event: DialogueEvent) -> String {
    switch event {
    case .digits(let digits): "digits \(digits)"
    case .silence: "silence"
    case .hangUp: "hang up"
    case .transferResult(let outcome): "transfer \(outcome.rawValue)"
    default: "\(event)"
    }
}

/// A voice output that counts what it is given to play.
final class Speaker: VoiceOutput {
    private let count = Mutex(0)
    var played: Int { count.withLock { $0 } }
    func speak(_ samples: [Int16]) async { count.withLock { $0 += 1 } }
    func interrupt() {}
    var isPlaying: Bool { false }
}
