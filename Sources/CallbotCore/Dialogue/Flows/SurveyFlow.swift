/// The satisfaction survey before goodbye: a score from 1 to 5, asked again once.
struct SurveyFlow {
    private var retried = false

    init(_ turn: inout DialogueTurn) {
        turn.ask(.surveyAsk, expecting: .score)
    }

    mutating func handle(_ reply: CallerReply, _ turn: inout DialogueTurn) -> FlowStep {
        if case .option(let score) = reply {
            turn.record(.survey, ["score": .int(score)])
            turn.say(.surveyThanks)
            return .ended(.goodbye)
        }
        // No score is an answer too: after one more try, leave politely.
        guard !retried else { return .ended(.goodbye) }
        retried = true
        turn.ask(.surveyInvalid, expecting: .score)
        return .waiting
    }
}
