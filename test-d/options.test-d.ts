import {
  delegateBearerAuth,
  fromEnv,
  httpValidator,
  requireWorkerKey,
  verifyWidgetKey,
} from '../src/index.js'

requireWorkerKey({ keys: fromEnv('WORKER_KEY') })
requireWorkerKey({ keys: ['a', { id: 'next', key: 'b' }], onError: 'next' })
// @ts-expect-error onError is 'respond' or 'next'
requireWorkerKey({ keys: 'k', onError: 'ignore' })
// @ts-expect-error there is no bypass option
requireWorkerKey({ keys: 'k', bypass: true })
// @ts-expect-error keys is required
requireWorkerKey({})

delegateBearerAuth({ validator: httpValidator({ url: fromEnv('AUTH_SERVICE_URL') }) })
// @ts-expect-error there is no failOpen option
delegateBearerAuth({ validator: httpValidator({ url: 'http://auth' }), failOpen: true })
// @ts-expect-error credentialsRequired is a boolean
delegateBearerAuth({ validator: httpValidator({ url: 'http://auth' }), credentialsRequired: 'no' })

verifyWidgetKey({ records: async () => null })
// @ts-expect-error records is a function of the tenant id
verifyWidgetKey({ records: 'SELECT * FROM widget_keys' })
