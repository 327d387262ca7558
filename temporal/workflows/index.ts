export { speedrunWorkflow } from './speedrun';
export { sweepWorkflow } from './sweep';
export { agentCoderWorkflow } from './agent-coder';
