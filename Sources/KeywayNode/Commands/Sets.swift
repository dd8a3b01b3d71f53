/// Set commands (to be implemented).
func registerSetCommands(_ handlers: inout CommandHandlers) {}
