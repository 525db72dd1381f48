import './base.css';
import './exercises.css';
import './written.css';
import './quiz.css';
import './exam.css';
