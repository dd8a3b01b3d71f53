/// Hash commands: HSET HGET HDEL ... (to be implemented).
func registerHashCommands(_ handlers: inout CommandHandlers) {}
