// The CDK app entry point (cdk.json): `npx cdk synth -c stage=dev|prod`.
import { buildApp } from './reelay-app.js';

buildApp().app.synth();
