import Foundation

/// Everything a deployment configures: `callbot.yaml`, `intents.yaml` and the messages.
package struct Deployment: Sendable {
    package var config: ServiceConfig
    package var intents: IntentCatalog
    package var messages: MessageCatalog
    /// The fiches of `config/knowledge/` the fallback may quote.
    package var knowledge: [KnowledgeFiche]
    /// How a language model is asked to answer from them (`prompts/assistant.fr.yaml`).
    package var answerPrompt: AnswerPrompt?

    package init(
        config: ServiceConfig, intents: IntentCatalog, messages: MessageCatalog, knowledge: [KnowledgeFiche] = []
    ) {
        self.config = config
        self.intents = intents
        self.messages = messages
        self.knowledge = knowledge
    }

    /// Reads and validates the deployment in `directory` (`config/`); messages come from
    /// `prompts/messages.fr.yaml` beside it.
    package static func load(from directory: String) throws(ConfigError) -> Deployment {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let prompts = (base as NSString).deletingLastPathComponent
        let promptsDir = prompts.isEmpty ? "prompts" : prompts + "/prompts"
        var deployment = try parse(
            callbot: try read(base + "/callbot.yaml"), callbotFile: base + "/callbot.yaml",
            intents: try read(base + "/intents.yaml"), intentsFile: base + "/intents.yaml",
            messages: try read(promptsDir + "/messages.fr.yaml"), messagesFile: promptsDir + "/messages.fr.yaml")
        deployment.knowledge = try KnowledgeParser.load(folder: base + "/knowledge")
        let answerPromptFile = promptsDir + "/assistant.fr.yaml"
        if FileManager.default.fileExists(atPath: answerPromptFile) {
            deployment.answerPrompt = try AnswerPrompt.parse(try read(answerPromptFile), file: answerPromptFile)
        } else if deployment.config.assistant.generation != nil {
            throw ConfigError(
                file: answerPromptFile, line: 0, reason: "assistant.generation needs this prompt (system and user)")
        }
        return deployment
    }

    /// Parses and cross-validates the three files' texts; file names only label errors.
    package static func parse(
        callbot: String, callbotFile: String = "callbot.yaml",
        intents: String, intentsFile: String = "intents.yaml",
        messages: String, messagesFile: String = "messages.fr.yaml"
    ) throws(ConfigError) -> Deployment {
        let callbotNode = try YAMLNode.parse(callbot, file: callbotFile)
        let config = try ConfigParser.serviceConfig(callbotNode)
        let catalogNode = try YAMLNode.parse(intents, file: intentsFile)
        let catalog = try ConfigParser.intentCatalog(catalogNode)
        let messagesNode = try YAMLNode.parse(messages, file: messagesFile)
        let (messageCatalog, messageLines) = try ConfigParser.messages(messagesNode)
        let deployment = Deployment(config: config, intents: catalog, messages: messageCatalog)
        try ConfigValidator.validate(
            deployment, callbotNode: callbotNode, intentsNode: catalogNode, messagesNode: messagesNode,
            messageLines: messageLines)
        return deployment
    }

    private static func read(_ path: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: 0, reason: "cannot read the file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, reason: "the file is not UTF-8 text")
        }
        return text
    }
}
