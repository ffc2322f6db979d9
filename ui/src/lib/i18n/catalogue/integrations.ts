// The integrations list and the form that adds one.

const en = {
  title: 'Integrations',
  new: 'New integration',
  name: 'Name',
  provider: 'Provider',
  providers: {
    pleo: 'Pleo',
    xledger: 'Xledger',
    business_central: 'Dynamics 365 Business Central',
    generic: 'Any HTTP API',
  },
  environment: 'Environment',
  /** The environment values themselves. */
  env: { prod: 'prod', sandbox: 'sandbox', test: 'test' },
  tenant: 'Tenant / company id',
  baseUrl: 'Base URL',
  baseUrlExample: 'https://',
  schedule: 'Sync schedule',
  scheduleExample: 'e.g. hourly, 0 2 * * *',
  owner: 'Owner',
  scopes: 'Required scopes (space separated)',
  save: 'Save integration',
  col: {
    name: 'Name',
    provider: 'Provider',
    tenant: 'Tenant / company',
    environment: 'Environment',
    schedule: 'Sync schedule',
    credentials: 'Credentials',
  },
  empty: 'No integrations yet.',
  needName: 'Give the integration a name.',
  added: (name: string) => `Added integration "${name}".`,
};

const nb: typeof en = {
  title: 'Integrasjoner',
  new: 'Ny integrasjon',
  name: 'Navn',
  provider: 'Leverandør',
  providers: {
    pleo: 'Pleo',
    xledger: 'Xledger',
    business_central: 'Dynamics 365 Business Central',
    generic: 'Et hvilket som helst HTTP-API',
  },
  environment: 'Miljø',
  env: { prod: 'prod', sandbox: 'sandbox', test: 'test' },
  tenant: 'Leietaker / selskaps-ID',
  baseUrl: 'Basis-URL',
  baseUrlExample: 'https://',
  schedule: 'Synkroniseringsplan',
  scheduleExample: 'f.eks. hourly, 0 2 * * *',
  owner: 'Eier',
  scopes: 'Nødvendig tilgangsomfang (skilt med mellomrom)',
  save: 'Lagre integrasjon',
  col: {
    name: 'Navn',
    provider: 'Leverandør',
    tenant: 'Leietaker / selskap',
    environment: 'Miljø',
    schedule: 'Synkroniseringsplan',
    credentials: 'Nøkler',
  },
  empty: 'Ingen integrasjoner ennå.',
  needName: 'Gi integrasjonen et navn.',
  added: (name: string) => `La til integrasjonen «${name}».`,
};

export const integrations = { en, nb };

/** Product names, environment values and an example, the same in both languages. */
export const sameInBoth = [
  'providers.pleo',
  'providers.xledger',
  'providers.business_central',
  'env.prod',
  'env.sandbox',
  'env.test',
  'baseUrlExample',
];
