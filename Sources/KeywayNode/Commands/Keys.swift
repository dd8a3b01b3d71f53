/// Generic key commands (to be implemented).
func registerKeyCommands(_ handlers: inout CommandHandlers) {}
