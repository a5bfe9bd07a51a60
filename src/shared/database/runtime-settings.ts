/** Keys of the runtime_settings table (persisted switches every replica reads). */
export const KILL_SWITCH_SETTING = 'spawn.kill_switch';
