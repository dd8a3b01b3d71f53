/// Pub/sub commands (to be implemented).
func registerPubSubCommands(_ handlers: inout CommandHandlers) {}
