import Foundation

/// The prompt a language model gets to answer a caller from the knowledge base
/// (`prompts/assistant.fr.yaml`): a system prompt with the phone style, and the user message
/// that carries the passages and the caller's question, already redacted.
package struct AnswerPrompt: Sendable, Equatable {
    /// `{service}` is the service's name.
    package var system: String
    /// `{passages}` and `{question}` are required; `{service}` may be used.
    package var user: String

    package init(system: String, user: String) {
        self.system = system
        self.user = user
    }

    /// The two messages for `question` over `passages` (each with its fiche's title).
    package func messages(question: String, passages: [(title: String, text: String)], service: String) -> (
        system: String, user: String
    ) {
        let quoted = passages.enumerated().map { index, passage in
            "[\(index + 1)] \(passage.title) : \(passage.text)"
        }.joined(separator: "\n")
        let fill = { (template: String) in
            template.replacingOccurrences(of: "{service}", with: service)
                .replacingOccurrences(of: "{passages}", with: quoted)
                .replacingOccurrences(of: "{question}", with: question)
        }
        return (fill(system), fill(user))
    }

    /// Reads `prompts/assistant.fr.yaml` (keys `system` and `user`); errors name the file and line.
    package static func parse(_ text: String, file: String) throws(ConfigError) -> AnswerPrompt {
        let node = try YAMLNode.parse(text, file: file)
        var f = try node.fields()
        guard let systemNode = f.optional("system"), let userNode = f.optional("user") else {
            throw node.error("the answer prompt needs system and user")
        }
        let prompt = AnswerPrompt(system: try systemNode.string(), user: try userNode.string())
        try f.finish()
        for placeholder in ["{passages}", "{question}"] where !prompt.user.contains(placeholder) {
            throw userNode.error("user must contain \(placeholder)")
        }
        return prompt
    }
}
