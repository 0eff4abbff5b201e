// keyward/testing: helpers for your own tests. Not imported by the main entry.
export {
  type AuthService,
  type AuthServiceFault,
  type AuthServiceOptions,
  type AuthServiceRequest,
  type IssueOptions,
  startAuthService,
} from './auth-service.js'
export {
  type ContractCheck,
  type ContractCheckOptions,
  type ContractPoint,
  type ContractReport,
  checkAuthServiceContract,
  formatContractReport,
} from './contract-check.js'
export {
  type MemoryRecordStore,
  type MemoryRecordStoreOptions,
  memoryRecordStore,
  type RecordStoreFault,
} from './memory-record-store.js'
