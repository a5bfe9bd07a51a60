/** Keys of the runtime_settings table (persisted switches every replica reads). */
export const KILL_SWITCH_SETTING = 'spawn.kill_switch';
/** The FINGERPRINT_VERSION that every stored fingerprint's samples have been re-fingerprinted with. */
export const FINGERPRINT_VERSION_SETTING = 'dedup.fingerprint_version';
