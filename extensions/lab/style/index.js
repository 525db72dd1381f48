import './base.css';
import './exercises.css';
import './written.css';
import './quiz.css';
