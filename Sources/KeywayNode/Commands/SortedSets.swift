/// Sorted set commands (to be implemented).
func registerSortedSetCommands(_ handlers: inout CommandHandlers) {}
