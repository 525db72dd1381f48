import './base.css';
import './exercises.css';
