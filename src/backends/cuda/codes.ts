/** The addon's numeric codes come from the one op-code table (../opcodes.ts, native/opcodes.h). */
export {
  ARG_REDUCE_CODE as ARG_CODE, BINARY_CODE, DTYPE_CODE, RANDOM_CODE, REDUCE_CODE, UNARY_CODE, UPDATE_CODE, UPDATE_STATES,
} from '../opcodes.js';
