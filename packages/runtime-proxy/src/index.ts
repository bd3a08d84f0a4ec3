/** Runtime host names: `<host port>-<user slug>.<runtime domain>`. */
export const RUNTIME_LABEL = /^([1-9][0-9]{0,4})-([a-z2-7]{16})$/;
