export { speedrunWorkflow } from './speedrun';
