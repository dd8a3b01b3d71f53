/// List commands, including the blocking ones (to be implemented).
func registerListCommands(_ handlers: inout CommandHandlers) {}
